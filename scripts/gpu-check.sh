#!/usr/bin/env bash
# One call on a machine with a GPU: inventory, build (sm_90 unless MAGCNN_CUDA_ARCH says otherwise), every
# test (cpu and gpu labels), the GPU tests again under compute-sanitizer (MAGCNN_SANITIZE=1), the GPU
# benchmarks (MAGCNN_BENCH_FILTER picks others; default: every benchmark on cuda), a timed run of
# magcnn-generate and timed magcnn-train runs to the seed's validation MSE, logged under $OUT.
# Run scripts/fetch-gpu-deps.sh first on a networked machine, then carry .deps:
#   device run, carry [".deps"], command "bash scripts/gpu-check.sh"
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
ARCH=${MAGCNN_CUDA_ARCH:-90}
JOBS=$(nproc)
log() { echo "== $*" | tee -a "$OUT/summary.txt"; }

{
  echo "date: $(date -u)"; echo "commit: $(git rev-parse --short HEAD 2>/dev/null) $(git status --porcelain 2>/dev/null | wc -l) uncommitted"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
  nvcc --version | tail -2; cmake --version | head -1; g++ --version | head -1; ninja --version
  for h in hdf5.h fftw3.h gtest/gtest.h benchmark/benchmark.h cudnn.h CLI/CLI.hpp toml++/toml.h oneapi/dnnl/dnnl.hpp cblas.h plstream.h; do
    printf '%-24s ' "$h"; (echo "#include <$h>" | g++ -x c++ -fsyntax-only -I/usr/include/hdf5/serial -I/usr/local/cuda/include - 2>/dev/null && echo present) || echo missing
  done
  ls /usr/lib/x86_64-linux-gnu | grep -E "fftw3|hdf5" | head
} > "$OUT/inventory.txt" 2>&1
log "inventory: $(head -3 "$OUT/inventory.txt" | tail -1)"

# Carried packages: unpacked into .deps/root and searched before the system.
PREFIX=""
if ls .deps/debs/*.deb >/dev/null 2>&1; then
  rm -rf .deps/root && mkdir -p .deps/root
  for f in .deps/debs/*.deb; do dpkg -x "$f" .deps/root; done
  PREFIX="$PWD/.deps/root/usr"
  export LD_LIBRARY_PATH="$PREFIX/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
fi

start=$(date +%s)
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DMAGCNN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$ARCH" \
  ${PREFIX:+-DCMAKE_PREFIX_PATH="$PREFIX"} > "$OUT/build.log" 2>&1 || { log "configure FAILED"; tail -30 "$OUT/build.log"; exit 1; }
ninja -C build-gpu -j "$JOBS" >> "$OUT/build.log" 2>&1 || { log "build FAILED"; grep -E "error" -A3 "$OUT/build.log" | head -40; exit 1; }
log "build: $(( $(date +%s) - start )) s"

ctest --test-dir build-gpu --output-on-failure > "$OUT/ctest.log" 2>&1
log "ctest: $(grep -E 'tests passed|tests failed' "$OUT/ctest.log")"
grep -E "Failed|\*\*\*|Skipped|Not Run" "$OUT/ctest.log" | tee -a "$OUT/summary.txt"
if [ -d build-gpu/python/magcnn ] && python3 -c "import pytest" 2>/dev/null; then
  # The Python module on the GPU against the CPU (ctest ran the rest of its tests).
  PYTHONPATH=build-gpu/python MAGCNN_BUILD_DIR=build-gpu python3 -m pytest -q -rs -p no:cacheprovider python/tests/test_gpu.py \
    > "$OUT/python_gpu.log" 2>&1
  log "python module on the GPU: $(tail -1 "$OUT/python_gpu.log")"
else
  log "python module on the GPU: not run (module not built: pybind11 missing, or no pytest)"
fi
./build-gpu/tests/test_gpu > "$OUT/test_gpu.log" 2>&1
grep -E "^\[ (gpu|case) |FAILED|PASSED|SKIPPED" "$OUT/test_gpu.log" | tee -a "$OUT/summary.txt"

if [ "${MAGCNN_SANITIZE:-0}" = 1 ] && command -v compute-sanitizer >/dev/null; then
  # Out-of-bounds and misaligned accesses in every kernel the GPU tests launch (the large case is slow
  # under the sanitizer and adds nothing new: it is filtered out).
  timeout 400 compute-sanitizer --tool memcheck --error-exitcode 9 ./build-gpu/tests/test_gpu \
    > "$OUT/sanitizer.log" 2>&1
  log "compute-sanitizer memcheck on test_gpu: exit $? ($(grep -c 'Invalid' "$OUT/sanitizer.log") invalid accesses; $(tail -1 "$OUT/sanitizer.log"))"
fi

if [ -x build-gpu/bench/magcnn-bench ]; then
  # Google Benchmark >= 1.8 wants a unit on --benchmark_min_time, 1.7 refuses one.
  MIN_TIME=0.5s; ./build-gpu/bench/magcnn-bench --benchmark_min_time=$MIN_TIME --benchmark_list_tests >/dev/null 2>&1 || MIN_TIME=0.5
  ./build-gpu/bench/magcnn-bench --benchmark_min_time=$MIN_TIME --benchmark_out="$OUT/bench.json" \
    --benchmark_out_format=json --benchmark_filter="${MAGCNN_BENCH_FILTER:-cuda}" > "$OUT/bench.txt" 2>&1
  log "bench (median of repetitions where repeated):"
  grep -vE "^\*\*\*|^---|WARNING" "$OUT/bench.txt" | tail -40 | tee -a "$OUT/summary.txt"
fi

if [ -x build-gpu/bench/magcnn-scaling ]; then
  # How each cost grows with its work on the GPU (1 to 1e6 samples, sides 32 to 4096): under a minute
  # predicted; the table and plots come back under $OUT/scaling.
  log "magcnn-scaling --device cuda:"
  ( time timeout 120 ./build-gpu/bench/magcnn-scaling --device cuda --quiet --out "$OUT/scaling" ) 2>&1 | tail -4 | tee -a "$OUT/summary.txt"
  grep exponent "$OUT/scaling/scaling.txt" 2>/dev/null | tee -a "$OUT/summary.txt"
fi

if [ -x build-gpu/apps/magcnn-generate ]; then
  log "magcnn-generate --device cuda --count 5000:"
  ( time ./build-gpu/apps/magcnn-generate --device cuda --count 5000 --out /tmp/seed_gpu.h5 ) 2>&1 | tail -8 | tee -a "$OUT/summary.txt"
  rm -f /tmp/seed_gpu.h5
fi
if [ -x build-gpu/apps/magcnn-train ]; then
  # Time to the seed's validation MSE, data generation included: the configuration's settings (the
  # CPU's fastest), then larger batches, which suit a GPU (DESIGN.md section 7: PyTorch 1.9 s at batch
  # 128, lr 2e-3; 3.2 s at batch 32, lr 1e-3).
  for settings in "" "--batch-size 32 --lr 1e-3" "--batch-size 128 --lr 2e-3" "--batch-size 256 --lr 3e-3"; do
    run=$(mktemp -d)/run
    log "magcnn-train --device cuda $settings:"
    ( time ./build-gpu/apps/magcnn-train --device cuda --epochs 60 $settings --out "$run" ) > "$run.log" 2>&1
    grep -E "^(reached|stopped|device|data:|epoch 1/)|^real|error" "$run.log" | tee -a "$OUT/summary.txt"
    cat "$run.log" >> "$OUT/train.log"
    rm -rf "$(dirname "$run")"
  done
fi
if [ -x build-gpu/apps/magcnn-infer ]; then
  # Inference on the GPU against the CPU on the same maps and model: the whole process, then the
  # predictions compared (float on both; they should agree to about 1e-5).
  work=$(mktemp -d)
  ./build-gpu/apps/magcnn-train --device cuda --epochs 2 --out "$work/run" > "$work/train.log" 2>&1
  ./build-gpu/apps/magcnn-generate --device cuda --count 5000 --seed 9 --out "$work/set.h5" > /dev/null 2>&1
  for device in cuda cpu; do
    log "magcnn-infer --device $device, 5000 maps:"
    ( time ./build-gpu/apps/magcnn-infer --device $device --model "$work/run/model.h5" --in "$work/set.h5" \
        --out "$work/pred_$device.h5" ) 2>&1 | grep -E "^(device|network|MSE|physics|real)|error" | tee -a "$OUT/summary.txt"
  done
  if command -v python3 >/dev/null && python3 -c "import h5py" 2>/dev/null; then
    python3 -c "import h5py, numpy as np; a = h5py.File('$work/pred_cuda.h5')['m'][()]; b = h5py.File('$work/pred_cpu.h5')['m'][()]; \
print('infer cuda vs cpu: max |diff| %.3g, relative L2 %.3g' % (abs(a - b).max(), np.linalg.norm(a - b) / np.linalg.norm(b)))" \
      | tee -a "$OUT/summary.txt"
  fi
  rm -rf "$work"
fi
if command -v python3 >/dev/null && [ -x build-gpu/bench/magcnn-bench ]; then
  # The peers (PyTorch, NumPy) beside magcnn on the same work, then the time to the seed's MSE.
  timeout 900 python3 bench/peers.py --build build-gpu > "$OUT/peers.log" 2>&1; log "peers.py: exit $?"
  tail -30 "$OUT/peers.log" | tee -a "$OUT/summary.txt"
  timeout 600 python3 bench/peers.py --build build-gpu --time-to-accuracy > "$OUT/time_to_accuracy.log" 2>&1; log "time to accuracy: exit $?"
  tail -12 "$OUT/time_to_accuracy.log" | tee -a "$OUT/summary.txt"
fi
log "total: $(( $(date +%s) - start )) s"
