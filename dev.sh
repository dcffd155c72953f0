#!/usr/bin/env bash
# Sets up a virtual environment, builds surrogate_ext against torch, then runs a job.
#
#   bash dev.sh selfcheck   # the main job: native operators vs the reference, as a table
#   bash dev.sh test        # the test suite (pytest)
#   bash dev.sh build       # set up and build only
#
# SURROGATE_EXT_TORCH=cuda (default) uses torch 2.14.1, a CUDA 13.0 build: the CUDA kernels are
# compiled too when nvcc is found (CUDA_HOME, default /usr/local/cuda), GPU or not.
# SURROGATE_EXT_TORCH=cpu uses torch 2.13.0, a CPU build: CPU kernels only.
# The environment lives in .venv-<flavour>; a second run reuses it and rebuilds incrementally.
set -euo pipefail
cd "$(dirname "$0")"

job="${1:-test}"
shift || true
flavour="${SURROGATE_EXT_TORCH:-cuda}"
case "$flavour" in
  cuda) torch_req="torch==2.14.1" ;;
  cpu) torch_req="torch==2.13.0" ;;
  *) echo "SURROGATE_EXT_TORCH must be cuda or cpu, got '$flavour'" >&2; exit 2 ;;
esac
venv=".venv-$flavour"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
py="$venv/bin/python"
if [ ! -f "$venv/.deps-installed" ]; then
  "$py" -m pip install -q --upgrade pip
  "$py" -m pip install -q "$torch_req" numpy ninja "setuptools>=64" wheel pytest hypothesis
  # SpikingJelly 0.0.0.0.14 is pure Python; its own requirements (torchvision, scipy, ...) are not
  # needed for the surrogate module the parity tests import.
  "$py" -m pip install -q --no-deps spikingjelly==0.0.0.0.14
  touch "$venv/.deps-installed"
fi

cuda_home="${CUDA_HOME:-/usr/local/cuda}"
if [ "$flavour" = cuda ] && [ -x "$cuda_home/bin/nvcc" ]; then
  export CUDA_HOME="$cuda_home" PATH="$cuda_home/bin:$PATH"
  if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
    export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"  # no GPU to ask: one arch
  fi
fi

if [ ! -f "$venv/.installed" ]; then
  "$py" -m pip install -q --no-deps --no-build-isolation -e .
  touch "$venv/.installed"
else
  "$py" setup.py -q build_ext --inplace  # incremental
fi

case "$job" in
  build) ;;
  selfcheck) "$py" -m surrogate_ext.selfcheck "$@" ;;
  test) "$py" -m pytest -q "$@" ;;
  *) echo "unknown job '$job': use selfcheck, test or build" >&2; exit 2 ;;
esac
