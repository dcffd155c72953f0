#!/usr/bin/env bash
# Sets up a virtual environment, builds surrogate_ext against its torch, then runs a job.
#
#   bash dev.sh demo        # the main job: trains a spiking network on scikit-learn's digits,
#                           # exports it with TorchScript and checks the reloaded model
#   bash dev.sh test        # the test suite: pytest, then the C++ example and its ctest
#   bash dev.sh pytest      # pytest only
#   bash dev.sh selfcheck   # native operators vs the reference, as a table
#   bash dev.sh build       # set up and build only
#   bash dev.sh cpp         # the C++ (CMake) example, its ctest and the install only
#
# Which torch (SURROGATE_EXT_TORCH; the environment lives in .venv-<flavour>):
#   cuda    torch 2.14.1, a CUDA 13.0 build (about 5.6 GB installed); the CUDA kernels are
#           compiled with nvcc (CUDA_HOME, default /usr/local/cuda), GPU or not. The default
#           when nvcc is there.
#   cpu     torch 2.13.0, a CPU build (about 0.7 GB); CPU kernels only. The default without nvcc.
#   oldest  the oldest supported torch (see SUPPORTED_OLDEST_TORCH) on the oldest supported
#           Python when one is found (python3.10, or PYTHON=...); CPU kernels only. What CI
#           checks the compatibility promise with; pip downloads a CUDA build of about 3 GB.
#
# The library is built in place (surrogate_ext/libsurrogate_ext.so) with ninja, its objects kept in
# build/<flavour>: a second run recompiles only what changed. The tree is importable from the
# environment (a .pth file), and the C++ build imports the same library instead of compiling the
# sources again (SURROGATE_EXT_CMAKE_FROM_SOURCE=1 compiles them, as a C++ user without a Python
# build would). Set-up installs what the job needs: `demo` the build and demo requirements,
# `test` also the test requirements and the peer libraries (SpikingJelly 0.0.0.0.14 and 2.0.0,
# snnTorch, Norse; see tests/peers.py for how SpikingJelly 2.0 is reached).
set -euo pipefail
cd "$(dirname "$0")"

SUPPORTED_OLDEST_TORCH=2.8.0  # keep in step with pyproject.toml and the README's support table

job="${1:-test}"
shift || true
case "$job" in
  build|demo|selfcheck|test|pytest|cpp) ;;
  *) echo "unknown job '$job': use demo, test, pytest, selfcheck, build or cpp" >&2; exit 2 ;;
esac
cuda_home="${CUDA_HOME:-/usr/local/cuda}"
if [ -z "${SURROGATE_EXT_TORCH:-}" ]; then
  if [ -x "$cuda_home/bin/nvcc" ]; then flavour=cuda; else flavour=cpu; fi
else
  flavour="$SURROGATE_EXT_TORCH"
fi
python="${PYTHON:-python3}"
case "$flavour" in
  cuda) torch_req="torch==2.14.1"; torch_what="torch 2.14.1, CUDA build, about 5.6 GB" ;;
  cpu) torch_req="torch==2.13.0"; torch_what="torch 2.13.0, CPU build, about 0.7 GB" ;;
  oldest)
    torch_req="torch==$SUPPORTED_OLDEST_TORCH"
    torch_what="torch $SUPPORTED_OLDEST_TORCH from PyPI (a CUDA build: about 3 GB to download), CPU kernels only"
    export SURROGATE_EXT_FORCE_CPU=1
    if [ -z "${PYTHON:-}" ]; then
      for candidate in python3.10 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10*/bin/python3.10; do
        if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
          python="$candidate"; break
        fi
      done
    fi ;;
  *) echo "SURROGATE_EXT_TORCH must be cuda, cpu or oldest, got '$flavour'" >&2; exit 2 ;;
esac
venv=".venv-$flavour"

seconds_since() { echo $(( $(date +%s) - $1 )); }

# pip, without the lines this machine's pip configuration prints for every package missing from
# its local indexes ("WARNING: Location 'file:///...' is ignored").
pip_install() {
  "$py" -m pip install -q "$@" 2> >(grep -v "^WARNING: Location 'file://.*' is ignored" >&2)
}

if [ ! -x "$venv/bin/python" ]; then
  echo "== creating $venv with $("$python" --version 2>&1)"
  "$python" -m venv "$venv"
fi
py="$venv/bin/python"
if [ ! -f "$venv/.deps-build" ]; then
  start=$(date +%s)
  echo "== installing $torch_what, and the build and demo requirements (a few minutes)"
  pip_install --upgrade pip
  pip_install "$torch_req" numpy ninja "setuptools>=77" wheel scikit-learn tqdm
  touch "$venv/.deps-build"
  echo "   done in $(seconds_since "$start") s"
fi
if [ "$job" = test ] || [ "$job" = pytest ] || [ "$job" = cpp ]; then
  if [ ! -f "$venv/.deps-test" ]; then
    start=$(date +%s)
    echo "== installing the test requirements and the peer libraries"
    if [ "$flavour" = oldest ]; then
      # What installs on the oldest Python; tests whose package is missing skip with the reason.
      pip_install pytest pytest-xdist hypothesis "cmake>=3.25" onnx onnxruntime onnxscript matplotlib
    else
      pip_install pytest pytest-xdist hypothesis cmake==3.31.10 "onnx>=1.23" "onnxruntime>=1.32" "onnxscript>=0.7" \
        matplotlib==3.11.2  # the gallery test compares SVGs drawn by this version
    fi
    # The peers are pure Python, installed without their own requirements (torchvision, scipy,
    # ...), which the surrogate and neuron modules the tests import do not need.
    pip_install --no-deps spikingjelly==0.0.0.0.14 snntorch==1.0.0 norse==1.1.0 nir nirtorch h5py loguru
    # SpikingJelly 2.0.0 is also the package `spikingjelly`: it goes to a folder of its own, from
    # which tests/peers.py imports it under another name (it needs Python >= 3.11).
    if "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      pip_install --no-deps --upgrade --target "$venv/peers/spikingjelly2" spikingjelly==2.0.0
    fi
    touch "$venv/.deps-test"
    echo "   done in $(seconds_since "$start") s"
  fi
fi

# Only the progress of the compiler: ninja's "[n/N] csrc/FILE" instead of its full command lines,
# and not setuptools' own lines. Warnings, errors and anything unexpected pass through. (A shell
# loop, since mawk, Debian's awk, holds piped input back in blocks.)
short_build_log() {
  local line src
  while IFS= read -r line; do
    case "$line" in
      "["[0-9]*/[0-9]*"] "*" -c "*)
        src="${line##* -c }"
        src="${src%% *}"
        echo "   ${line%% *} csrc/${src##*/csrc/}"
        continue ;;
      "running "*|"copying "*|"creating "*|"building '"*|"Emitting ninja build file"*|"Compiling objects..."|\
      "Using envvar MAX_JOBS"*|"Allowing ninja to set a default number of workers"*)
        continue ;;
      *"No CUDA runtime is found, using CUDA_HOME="*)  # torch's notice on a machine without a GPU
        continue ;;
      "ninja: no work to do.")
        echo "   nothing to recompile"
        continue ;;
    esac
    # setuptools' link command
    [[ "$line" =~ ^[^\ ]*(g\+\+|c\+\+|gcc)(-[0-9]+)?\ .*\ -shared\  ]] && continue
    printf '%s\n' "$line"
  done
}

build() {
  local start what
  start=$(date +%s)
  what="CPU kernels"
  if [ "$flavour" = cuda ] && [ -x "$cuda_home/bin/nvcc" ]; then
    export CUDA_HOME="$cuda_home" PATH="$cuda_home/bin:$PATH"
    if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
      export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"  # no GPU to ask: one arch
    fi
    what="CPU and CUDA kernels (arch ${TORCH_CUDA_ARCH_LIST:-of the GPU present}); a first build takes about 8 min on 2 cores"
  else
    what="CPU kernels; a first build takes about 5 min on 2 cores"
  fi
  echo "== building surrogate_ext/libsurrogate_ext.so: $what; then only what changed is recompiled"
  export MAX_JOBS="${MAX_JOBS:-$(nproc)}"
  "$py" setup.py build_ext --inplace --build-temp "build/$flavour" 2>&1 | short_build_log
  # Importable from any folder in this environment, the way an editable install is.
  local site
  site="$("$py" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
  echo "$PWD" > "$site/surrogate_ext_tree.pth"
  # The console scripts of pyproject.toml's [project.scripts] (surrogate-ext), as pip would write
  # them for an installed package.
  "$py" - "$venv/bin" <<'PY'
import os, re, sys
bin_dir = sys.argv[1]
# `name = "module:function"` lines of the [project.scripts] table (tomllib is Python >= 3.11)
table = re.search(r"^\[project\.scripts\]\n(.*?)(?=^\[|\Z)", open("pyproject.toml").read(), re.M | re.S)
for name, target in re.findall(r'^([\w-]+)\s*=\s*"([^"]+)"', table.group(1), re.M):
    module, func = target.split(":")
    path = os.path.join(bin_dir, name)
    with open(path, "w") as f:
        f.write(f"#!{os.path.abspath(sys.executable)}\nimport sys\nfrom {module} import {func}\n"
                f"sys.exit({func}())\n")
    os.chmod(path, 0o755)
PY
  echo "   built in $(seconds_since "$start") s"
}

# The C++ example, its ctest (which scripts a model in Python and compares the C++ results with
# Python's) and the install, in build/cpp-<flavour>. It imports the library just built.
cpp() {
  local dir="build/cpp-$flavour" args
  args=(-G Ninja -DCMAKE_MAKE_PROGRAM="$PWD/$venv/bin/ninja"
        -DCMAKE_PREFIX_PATH="$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)')"
        -DPython3_EXECUTABLE="$PWD/$py")
  if [ "${SURROGATE_EXT_CMAKE_FROM_SOURCE:-0}" = 1 ]; then
    dir="build/cpp-src-$flavour"
    args+=(-DSURROGATE_EXT_LIBRARY= -DSURROGATE_EXT_WITH_CUDA="$([ "$flavour" = cuda ] && echo ON || echo OFF)")
    echo "== CMake: compiling the library from csrc/ (as a C++ user without a Python build)"
  else
    args+=(-DSURROGATE_EXT_LIBRARY="$PWD/surrogate_ext/libsurrogate_ext.so")
    echo "== CMake: the C++ example against surrogate_ext/libsurrogate_ext.so (nothing recompiled)"
  fi
  if "$py" -c 'import sys, torch; sys.exit(torch.version.cuda is None)'; then
    # torch's CMake config needs the CUDA toolkit whenever torch is a CUDA build.
    local nvrtc
    nvrtc="$("$py" -c 'import glob, os, nvidia; print((sorted(glob.glob(os.path.join(nvidia.__path__[0], "cu*", "lib", "libnvrtc.so.*"))) + [""])[0])' 2>/dev/null || true)"
    args+=(-DCUDA_TOOLKIT_ROOT_DIR="$cuda_home" -DCMAKE_CUDA_COMPILER="$cuda_home/bin/nvcc"
           -DTORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}")
    [ -n "$nvrtc" ] && args+=(-DCUDA_nvrtc_LIBRARY="$nvrtc")
  fi
  mkdir -p "$dir"
  "$venv/bin/cmake" -S . -B "$dir" "${args[@]}" >"$dir/configure.log" 2>&1 || { cat "$dir/configure.log"; exit 1; }
  grep -A5 "CMake Warning" "$dir/configure.log" || true
  "$venv/bin/cmake" --build "$dir"
  "$venv/bin/ctest" --test-dir "$dir" --output-on-failure
  "$venv/bin/cmake" --install "$dir" --prefix "$dir/install" >/dev/null
  echo "C++ library and headers installed in $dir/install"
}

# pytest over up to 4 processes (pytest-xdist; SURROGATE_EXT_TEST_WORKERS=N chooses, 1 runs in
# this process): most tests are single-threaded Python around small tensors.
run_pytest() {
  local cores workers
  cores=$(nproc)
  workers="${SURROGATE_EXT_TEST_WORKERS:-$(( cores < 4 ? cores : 4 ))}"
  if [ "$workers" -gt 1 ] && "$py" -c 'import xdist' 2>/dev/null; then
    echo "== pytest, $workers processes"
    "$py" -m pytest -q -n "$workers" "$@"
  else
    "$py" -m pytest -q "$@"
  fi
}

build
case "$job" in
  build) ;;
  demo) "$venv/bin/surrogate-ext" demo "$@" ;;
  selfcheck) "$venv/bin/surrogate-ext" selfcheck "$@" ;;
  test) run_pytest "$@"; cpp ;;
  pytest) run_pytest "$@" ;;
  cpp) cpp ;;
esac
