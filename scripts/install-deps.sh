#!/usr/bin/env bash
# Install every Debian 12 package that driftlab needs to build, run and test.
# Runs without prompts; call it as root or through sudo.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake pkg-config
  # libraries linked by driftlab
  libhdf5-dev libinih-dev libcairo2-dev libpango1.0-dev libssl-dev zlib1g-dev
  # linear algebra for the LoRA model: OpenBLAS with CBLAS, and LAPACKE
  libopenblas-dev liblapacke-dev
  # C unit tests
  libcmocka-dev
  # Python side of the tests: read results.h5 as users do
  python3 python3-numpy python3-h5py python3-xarray python3-h5netcdf
  # the font every figure uses, and pdftotext/pdffonts for the figure tests
  fonts-dejavu-core poppler-utils
)

if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
else
  sudo=
fi

export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${packages[@]}"
