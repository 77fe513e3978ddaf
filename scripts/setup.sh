#!/usr/bin/env bash
# Set up magcnn on a fresh Debian/Ubuntu machine and run it:
#   bash scripts/setup.sh run    install, build, generate the seed's data and train the seed's network to the
#                                seed's validation MSE (GPU when one works, else CPU); prints where the model is
#   bash scripts/setup.sh test   install, build, run every test (GPU tests skip, saying so, without a GPU)
#   bash scripts/setup.sh deps   install the packages only (scripts/legacy-gpu-build.sh uses it)
# CUDA: built when nvcc and cuDNN are found (the default build covers Turing and newer; CI builds one
# architecture). CI=true turns warnings into errors and builds sm_90 only.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}
case "$mode" in run|test|example|deps) ;; *) echo "usage: bash scripts/setup.sh run|test|example|deps" >&2; exit 2 ;; esac

packages=(cmake ninja-build g++ pkg-config libhdf5-dev libfftw3-dev libcli11-dev libtomlplusplus-dev
          libgtest-dev libbenchmark-dev libdnnl-dev libopenblas-openmp-dev libplplot-dev plplot-driver-cairo libpng-dev
          pybind11-dev libopenmpi-dev openmpi-bin)
# The Python module is built for the python3 on PATH. Debian's own interpreter takes its packages from
# apt; any other (a venv, pyenv, conda) from pip. Its tests need numpy, pytest and h5py.
python_prefix=$(python3 -c 'import sys; print(sys.prefix)' 2>/dev/null || echo none)
if [ "$python_prefix" = /usr ] || [ "$python_prefix" = none ]; then
  packages+=(python3-dev python3-numpy python3-pytest python3-h5py python3-pip python3-venv)
fi
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$python_prefix" != /usr ] && [ "$python_prefix" != none ]; then
  wanted=()
  for m in numpy pytest h5py; do python3 -c "import $m" 2>/dev/null || wanted+=("$m"); done
  if [ ${#wanted[@]} -gt 0 ]; then
    echo "installing for $(command -v python3): ${wanted[*]}"
    python3 -m pip install --quiet "${wanted[@]}"
  fi
fi

# deps: the packages alone (scripts/legacy-gpu-build.sh builds with another toolkit).
[ "$mode" = deps ] && exit 0

# The CUDA toolkit is often installed outside PATH.
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH=/usr/local/cuda/bin:$PATH; fi

flags=(-DCMAKE_BUILD_TYPE=Release)
if [ "${CI:-}" = true ]; then flags+=(-DMAGCNN_WERROR=ON -DCMAKE_CUDA_ARCHITECTURES=90); fi
log=$(mktemp)
if ! cmake -S . -B build -G Ninja "${flags[@]}" > "$log" 2>&1; then cat "$log"; rm -f "$log"; exit 1; fi
grep -E "^-- magcnn:" "$log" || true
rm -f "$log"
cmake --build build

# The Python module into the python3 on PATH (pip install ., scikit-build-core; an incremental build in
# build/pip-*), unless that interpreter is the system's, which pip must not change (PEP 668).
install_python_module() {
  if python3 -c 'import sys, sysconfig, os; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'; then
    echo "python: $(command -v python3) is the system's; the module is built in build/python (PYTHONPATH=build/python)," \
         "or install it in a virtual environment: python3 -m venv .venv && .venv/bin/pip install ."
    return
  fi
  local log pip_flags=()
  if [ "${CI:-}" = true ]; then pip_flags+=(-C cmake.define.MAGCNN_WERROR=ON -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90); fi
  log=$(mktemp)
  if ! python3 -m pip install --quiet "${pip_flags[@]}" . > "$log" 2>&1; then cat "$log"; rm -f "$log"; exit 1; fi
  rm -f "$log"
  (cd / && python3 -c 'import magcnn; print("python: import magcnn", magcnn.__version__, "from", magcnn.__file__)')
}
install_python_module

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
