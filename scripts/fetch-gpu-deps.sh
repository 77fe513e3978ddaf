#!/usr/bin/env bash
# Downloads (here, on a Debian machine with network) the packages the GPU machine may lack, as .deb files
# into .deps/debs, which scripts/gpu-check.sh unpacks there. Header-only CLI11 and toml++, FFTW, and
# libpng (magcnn-infer reads PNG maps), oneDNN (found by path, so that the CPU side of the GPU tests runs what CI's does; OpenBLAS and PLplot
# are left out: the build takes plain loops and draws no loss.png without them).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .deps/debs
cd .deps/debs
apt-get download libcli11-dev libtomlplusplus-dev libfftw3-dev libfftw3-double3 libfftw3-single3 libdnnl-dev libdnnl2 \
  ocl-icd-libopencl1 libpng-dev libpng16-16
ls -la
