#!/usr/bin/env bash
# Builds magcnn for Kepler to Volta (sm_35, sm_37, sm_50, sm_60, sm_70: the seed's K20 and the cards labs
# keep) with CUDA 11.8, the last toolkit that supports them, and cuDNN 8.7, the last cuDNN whose
# libraries hold Kepler code (8.8 and 8.9 start at sm_50: checked below, on the libraries themselves),
# beside the default CUDA 13 without disturbing it, then runs that build's CPU tests. On demand, not in CI: it downloads about 1.3 GB
# once and builds for five architectures (run time and log: see the last lines it prints).
#
#   bash scripts/legacy-gpu-build.sh            # everything below, into .legacy/ and build-legacy/
#
# 1. The Debian packages the default build needs (scripts/setup.sh deps), and g++-11, CUDA 11.8's newest
#    host compiler (installed beside the default g++, which stays the default).
# 2. CUDA 11.8 from Debian 12's non-free component, read through a private apt configuration (nothing is
#    added to the system's sources), downloaded as packages and unpacked into .legacy/root: nothing is
#    installed, so `nvcc` on PATH and the default build stay CUDA 13. .legacy/cuda-11.8 arranges it in the
#    layout NVIDIA's toolkit has (bin, include, lib64, nvvm), which CMake's CUDA support expects.
# 3. cuDNN for CUDA 11 from its wheel on the Python package index (nvidia-cudnn-cu11), unpacked: 8.7.0 when
#    a Kepler architecture is asked for, else 8.9.6 (Maxwell and newer).
# 4. Every library the build links with device code (cuDNN, cuFFT, cuBLAS, cuBLASLt, cuRAND) must hold
#    code each architecture runs (machine code of its major version and no higher minor, or PTX of no
#    higher version), and so must the engine: checked with cuobjdump.
# 5. A build folder of its own (build-legacy) configured with that nvcc, g++-11 as its host compiler, the
#    five architectures, cuDNN 8.9 and warnings as errors (CUDA 11.8's notice that sm_35 and sm_37 are
#    deprecated is the one warning silenced); every target built; the CPU tests run.
# MAGCNN_LEGACY_ARCHS overrides the architectures, MAGCNN_LEGACY_DIR the download folder.
set -euo pipefail
cd "$(dirname "$0")/.."
LEGACY=${MAGCNN_LEGACY_DIR:-$PWD/.legacy}
BUILD=build-legacy
ARCHS=${MAGCNN_LEGACY_ARCHS:-35;37;50;60;70}
CUDA_VERSION=11.8.89~11.8.0-5~deb12u1
# The newest cuDNN for CUDA 11 with code for the oldest architecture asked for.
oldest=$(echo "${ARCHS//;/ }" | tr ' ' '\n' | sort -n | head -1)
if [ "$oldest" -lt 50 ]; then CUDNN_VERSION=8.7.0.84; else CUDNN_VERSION=8.9.6.50; fi
CUDNN_WHEEL=nvidia-cudnn-cu11==$CUDNN_VERSION
mkdir -p "$LEGACY/logs"
LOG="$LEGACY/logs/legacy-build-$(date +%Y%m%d-%H%M%S).log"
start=$(date +%s)
say() { echo "legacy: $*" | tee -a "$LOG"; }
run() { "$@" >> "$LOG" 2>&1 || { say "FAILED: $*"; tail -40 "$LOG"; exit 1; }; }
sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo

say "log: $LOG"
run bash scripts/setup.sh deps
if ! command -v g++-11 >/dev/null; then
  say "installing g++-11 (beside the default g++)"
  run $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++-11
fi

# CUDA 11.8: the toolkit (nvcc), its headers and libraries (nvidia-cuda-dev), the runtime libraries
# magcnn links, NVVM, and Debian's separately packaged CUB, Thrust and libcu++ of that release.
packages=(nvidia-cuda-toolkit nvidia-cuda-dev libcudart11.0 libcublas11 libcublaslt11 libcufft10 libcurand10 libnvvm4
          libnvrtc11.2 libnvrtc-builtins11.8 libcub-dev libthrust-dev libcu++-dev)
if [ ! -f "$LEGACY/root/.complete" ]; then
  apt_dir="$LEGACY/apt"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$LEGACY/debs"
  echo "deb http://deb.debian.org/debian bookworm main contrib non-free" > "$apt_dir/sources.list"
  apt_options=(-o Dir::Etc::sourcelist="$apt_dir/sources.list" -o Dir::Etc::sourceparts=/nonexistent
               -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache" -o APT::Sandbox::User=root)
  say "reading Debian's non-free package lists (private to $apt_dir)"
  run apt-get -q "${apt_options[@]}" update
  missing=()
  for p in "${packages[@]}"; do ls "$LEGACY/debs/${p}_"*.deb >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    say "downloading ${#missing[@]} packages of CUDA 11.8 (about 1.3 GB)"
    (cd "$LEGACY/debs" && run apt-get -q "${apt_options[@]}" download "${missing[@]}")
  fi
  grep -q "$CUDA_VERSION" <(ls "$LEGACY/debs") || { say "FAILED: no CUDA $CUDA_VERSION among $LEGACY/debs"; exit 1; }
  say "unpacking into $LEGACY/root"
  rm -rf "$LEGACY/root" && mkdir -p "$LEGACY/root"
  for f in "$LEGACY"/debs/*.deb; do run dpkg -x "$f" "$LEGACY/root"; done
  touch "$LEGACY/root/.complete"
fi

# NVIDIA's layout over Debian's: nvcc finds its profile beside its own binary (a copy, since Debian's
# profile is a link to /etc), and the profile points everything at this folder.
toolkit="$LEGACY/cuda-11.8"
rm -rf "$toolkit" && mkdir -p "$toolkit/bin" "$toolkit/nvvm/bin"
debian_bin="$LEGACY/root/usr/lib/nvidia-cuda-toolkit/bin"
cp "$debian_bin/nvcc" "$toolkit/bin/nvcc"
ln -s "$debian_bin/crt" "$toolkit/bin/crt"
for tool in "$LEGACY"/root/usr/bin/*; do
  [ -e "$toolkit/bin/$(basename "$tool")" ] || ln -s "$tool" "$toolkit/bin/$(basename "$tool")"  # not Debian's nvcc link
done
ln -s "$debian_bin/cicc" "$toolkit/nvvm/bin/cicc"
ln -s "$LEGACY/root/usr/lib/nvidia-cuda-toolkit/libdevice" "$toolkit/nvvm/libdevice"
ln -s "$LEGACY/root/usr/include" "$toolkit/include"
ln -s "$LEGACY/root/usr/lib/x86_64-linux-gnu" "$toolkit/lib64"
cat > "$toolkit/bin/nvcc.profile" <<'EOF'
TOP              = $(_HERE_)/..
NVVMIR_LIBRARY_DIR = $(TOP)/nvvm/libdevice
LD_LIBRARY_PATH += $(TOP)/lib64:
PATH            += $(TOP)/nvvm/bin:$(_HERE_):
INCLUDES        +=  "-I$(TOP)/include" $(_SPACE_)
LIBRARIES        =+ $(_SPACE_) "-L$(TOP)/lib64/stubs" "-L$(TOP)/lib64"
EOF
say "nvcc: $("$toolkit/bin/nvcc" --version | tail -1); host compiler $(g++-11 --version | head -1)"

# cuDNN 8.9: the wheel's headers and libraries; the unversioned names a link needs.
cudnn="$LEGACY/cudnn-$CUDNN_VERSION"
if [ ! -f "$cudnn/.complete" ]; then
  mkdir -p "$LEGACY/wheels"
  ls "$LEGACY"/wheels/nvidia_cudnn_cu11-"$CUDNN_VERSION"-*.whl >/dev/null 2>&1 || {
    say "downloading $CUDNN_WHEEL (about 700 MB)"
    run python3 -m pip download --quiet --no-deps "$CUDNN_WHEEL" -d "$LEGACY/wheels"
  }
  rm -rf "$cudnn.unpacked" && mkdir -p "$cudnn.unpacked"
  run python3 -m zipfile -e "$(ls "$LEGACY"/wheels/nvidia_cudnn_cu11-"$CUDNN_VERSION"-*.whl)" "$cudnn.unpacked"
  rm -rf "$cudnn" && mv "$cudnn.unpacked/nvidia/cudnn" "$cudnn" && rm -rf "$cudnn.unpacked"
  for lib in "$cudnn"/lib/libcudnn*.so.8; do ln -sf "$(basename "$lib")" "${lib%.8}"; done
  touch "$cudnn/.complete"
fi
say "cuDNN: $(grep -E '^#define CUDNN_(MAJOR|MINOR|PATCHLEVEL)' "$cudnn/include/cudnn_version.h" | awk '{print $3}' | paste -sd.)"

# Whether `library` holds code that GPUs of each architecture in $ARCHS run; says which it holds.
check_device_code() {
  local library=$1 listing
  listing=$("$toolkit/bin/cuobjdump" --list-elf "$library" 2>/dev/null | grep -oE "sm_[0-9]+" | sort -u | paste -sd' ')
  listing="$listing | ptx: $("$toolkit/bin/cuobjdump" --list-ptx "$library" 2>/dev/null | grep -oE "sm_[0-9]+" | sort -u | paste -sd' ')"
  python3 - "$ARCHS" "$listing" <<'PY' || { say "FAILED: $(basename "$library") has no code for some of sm ${ARCHS} (it holds $listing)"; exit 1; }
import sys
archs = [int(a) for a in sys.argv[1].split(";")]
elf, ptx = (part.split(":")[-1].split() for part in sys.argv[2].split("|"))
elf = [int(x[3:]) for x in elf]; ptx = [int(x[3:]) for x in ptx]
runs = lambda a: any(e // 10 == a // 10 and e <= a for e in elf) or any(p <= a for p in ptx)
sys.exit(0 if all(runs(a) for a in archs) else 1)
PY
  say "device code in $(basename "$library"): ${listing% | ptx: }"
}
for lib in "$cudnn"/lib/libcudnn_cnn_infer.so.8 "$cudnn"/lib/libcudnn_cnn_train.so.8 "$cudnn"/lib/libcudnn_ops_infer.so.8 \
           "$toolkit"/lib64/libcufft.so.10 "$toolkit"/lib64/libcublas.so.11 "$toolkit"/lib64/libcublasLt.so.11 \
           "$toolkit"/lib64/libcurand.so.10; do
  check_device_code "$lib"
done

# The build: its own folder; the default build/ is not touched.
export LD_LIBRARY_PATH="$toolkit/lib64:$cudnn/lib:${LD_LIBRARY_PATH:-}"
say "configuring $BUILD for sm ${ARCHS//;/, sm_}"
run cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMAGCNN_CUDA=ON -DMAGCNN_WERROR=ON \
  -DCMAKE_CUDA_COMPILER="$toolkit/bin/nvcc" -DCMAKE_CUDA_HOST_COMPILER=g++-11 -DCMAKE_CUDA_ARCHITECTURES="$ARCHS" \
  -DCUDAToolkit_ROOT="$toolkit" -DCUDNN_ROOT="$cudnn" -DCMAKE_CUDA_FLAGS="-Wno-deprecated-gpu-targets"
say "$(grep -E '^-- magcnn: CUDA' "$LOG" | tail -1 | sed 's/^-- //')"
build_start=$(date +%s)
run cmake --build "$BUILD"
say "built every target in $(( $(date +%s) - build_start )) s"
# What the engine holds: machine code for each architecture asked for.
elves=$("$toolkit/bin/cuobjdump" --list-elf "$BUILD/engine/libmagcnn_engine.a" 2>/dev/null | grep -oE "sm_[0-9]+" | sort -u | paste -sd' ')
say "device code in libmagcnn_engine.a: $elves"
for a in ${ARCHS//;/ }; do
  case " $elves " in *" sm_$a "*) ;; *) say "FAILED: no sm_$a code in the engine"; exit 1 ;; esac
done
# And the programs link the cuDNN checked above, not another one found on the system.
linked=$(ldd "$BUILD/apps/magcnn-train" | grep -oE "libcudnn[^ ]* => [^ ]*" | head -1)
case "$linked" in *"$cudnn"*) say "magcnn-train links $linked" ;; *) say "FAILED: magcnn-train links '$linked', not $cudnn"; exit 1 ;; esac
say "running the CPU tests of $BUILD"
if ! ctest --test-dir "$BUILD" -L cpu --output-on-failure >> "$LOG" 2>&1; then
  grep -E "tests passed|tests failed|Failed|\*\*\*" "$LOG" | tail -20
  say "FAILED: CPU tests (log: $LOG)"
  exit 1
fi
say "$(grep -E 'tests passed' "$LOG" | tail -1)"
say "done in $(( $(date +%s) - start )) s; the GPU tests of this build need a Kepler-to-Volta GPU (none here)"
