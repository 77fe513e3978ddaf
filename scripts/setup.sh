#!/usr/bin/env bash
# Set up magcnn on a fresh Debian/Ubuntu machine and run it:
#   bash scripts/setup.sh run    install, build, generate the seed's data and train the seed's network to the
#                                seed's validation MSE (GPU when one works, else CPU); prints where the model is
#   bash scripts/setup.sh test   install, build, run every test (GPU tests skip, saying so, without a GPU)
# CUDA: built when nvcc and cuDNN are found (the default build covers Turing and newer; CI builds one
# architecture). CI=true turns warnings into errors and builds sm_90 only.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}
case "$mode" in run|test|example) ;; *) echo "usage: bash scripts/setup.sh run|test|example" >&2; exit 2 ;; esac

packages=(cmake ninja-build g++ pkg-config libhdf5-dev libfftw3-dev libcli11-dev libtomlplusplus-dev
          libgtest-dev libbenchmark-dev libdnnl-dev libopenblas-openmp-dev libplplot-dev plplot-driver-cairo libpng-dev)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The CUDA toolkit is often installed outside PATH.
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH=/usr/local/cuda/bin:$PATH; fi

flags=(-DCMAKE_BUILD_TYPE=Release)
if [ "${CI:-}" = true ]; then flags+=(-DMAGCNN_WERROR=ON -DCMAKE_CUDA_ARCHITECTURES=90); fi
log=$(mktemp)
if ! cmake -S . -B build -G Ninja "${flags[@]}" > "$log" 2>&1; then cat "$log"; rm -f "$log"; exit 1; fi
grep -E "^-- magcnn:" "$log" || true
rm -f "$log"
cmake --build build

train_seed() {
  run="runs/seed-$(date +%Y%m%d-%H%M%S)"
  mkdir -p runs
  ./build/apps/magcnn-train --config configs/seed.toml --out "$run"
}

if [ "$mode" = test ]; then
  ctest --test-dir build --output-on-failure
elif [ "$mode" = run ]; then
  train_seed
else
  # The seed's example: its test shape in physical units, its field from the exact forward model, and
  # the prediction of the model the main job trained (trained first if there is none yet).
  model=$(ls -t runs/seed-*/model.h5 2>/dev/null | head -1 || true)
  if [ -z "$model" ]; then train_seed; model="$run/model.h5"; fi
  out="runs/example-$(date +%Y%m%d-%H%M%S)"
  mkdir -p "$out"
  ./build/apps/magcnn-example --config configs/example.toml --out "$out/magnetization.h5"
  ./build/apps/magcnn-forward --config configs/example.toml --in "$out/magnetization.h5" --out "$out/field.h5"
  ./build/apps/magcnn-infer --config configs/example.toml --model "$model" --in "$out/field.h5" \
    --truth "$out/magnetization.h5" --png --out "$out/prediction.h5"
fi
