#!/usr/bin/env bash
# Downloads (here, on a Debian machine with network) the packages the GPU machine may lack, as .deb files
# into .deps/debs, which scripts/gpu-check.sh unpacks there. Header-only CLI11 and toml++, and FFTW.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .deps/debs
cd .deps/debs
apt-get download libcli11-dev libtomlplusplus-dev libfftw3-dev libfftw3-double3 libfftw3-single3
ls -la
