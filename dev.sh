#!/usr/bin/env bash
# Sets up a virtual environment, builds surrogate_ext against torch, then runs a job.
#
#   bash dev.sh demo        # the main job: trains a spiking network on scikit-learn's digits,
#                           # exports it with TorchScript and checks the reloaded model
#   bash dev.sh test        # the test suite: pytest, then the C++ build and its ctest
#   bash dev.sh selfcheck   # native operators vs the reference, as a table
#   bash dev.sh build       # set up and build only
#   bash dev.sh cpp         # the C++ (CMake) build, its ctest and install only
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
  "$py" -m pip install -q "$torch_req" numpy ninja "setuptools>=64" wheel pytest hypothesis \
    cmake==3.31.10 "onnx>=1.23" "onnxruntime>=1.32" "onnxscript>=0.7" tqdm \
    matplotlib==3.11.2 scikit-learn  # the gallery test compares SVGs drawn by this version
  # SpikingJelly 0.0.0.0.14 is pure Python; its own requirements (torchvision, scipy, ...) are not
  # needed by the surrogate and neuron modules the tests import.
  "$py" -m pip install -q --no-deps spikingjelly==0.0.0.0.14
  # snnTorch is pure Python too; importing its neurons needs only torch and numpy.
  "$py" -m pip install -q --no-deps snntorch==1.0.0
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

# The plain shared library for C++ users, the example program, its ctest (which scripts a model
# in Python and compares the C++ results with Python's) and the install, in build-cpp-<flavour>.
cpp() {
  local dir="build-cpp-$flavour"
  local args=(-DCMAKE_PREFIX_PATH="$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)')"
              -DPython3_EXECUTABLE="$PWD/$py")
  if [ "$flavour" = cuda ] && [ -n "${CUDA_HOME:-}" ]; then
    local nvrtc
    nvrtc="$("$py" -c 'import glob, os, nvidia; print(sorted(glob.glob(os.path.join(nvidia.__path__[0], "cu*", "lib", "libnvrtc.so.*")))[0])')"
    local archs  # "8.0;9.0+PTX" -> "80;90"
    archs="$("$py" -c 'import sys; print(";".join(a.split("+")[0].replace(".", "") for a in sys.argv[1].split(";")))' "${TORCH_CUDA_ARCH_LIST:-9.0}")"
    args+=(-DCUDA_TOOLKIT_ROOT_DIR="$CUDA_HOME" -DCMAKE_CUDA_COMPILER="$CUDA_HOME/bin/nvcc"
           -DCUDA_nvrtc_LIBRARY="$nvrtc" -DCMAKE_CUDA_ARCHITECTURES="$archs")
  fi
  "$venv/bin/cmake" -S . -B "$dir" "${args[@]}" >/dev/null
  "$venv/bin/cmake" --build "$dir" -j "$(nproc)"
  "$venv/bin/ctest" --test-dir "$dir" --output-on-failure
  "$venv/bin/cmake" --install "$dir" --prefix "$dir/install" >/dev/null
  echo "C++ library and headers installed in $dir/install"
}

case "$job" in
  build) ;;
  demo) "$py" -m surrogate_ext.demo "$@" ;;
  selfcheck) "$py" -m surrogate_ext.selfcheck "$@" ;;
  test) "$py" -m pytest -q "$@"; cpp ;;
  cpp) cpp ;;
  *) echo "unknown job '$job': use demo, test, selfcheck, build or cpp" >&2; exit 2 ;;
esac
