#!/usr/bin/env bash
# One short call on a GPU machine: build with the local GPU's arch, check every CUDA op and dtype
# against the CPU kernels and the reference, then measure bandwidth against a device copy.
# Prints tables; exits non-zero on a mismatch.
#   bash benchmarks/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
nvidia-smi -L
unset TORCH_CUDA_ARCH_LIST  # let torch target the GPU that is present
SURROGATE_EXT_TORCH=cuda bash dev.sh build
py=.venv-cuda/bin/python
"$py" -c "import surrogate_ext; print(surrogate_ext.build_info())"
"$py" -m pytest -q tests/core/test_cuda.py tests/core/test_ops.py -k cuda
"$py" -m surrogate_ext bench neuron --device cuda --neurons 20 --steps 16 --repeats 5 --no-progress
"$py" -m surrogate_ext selfcheck --device cuda
# bandwidth: GB/s and fraction of a measured device-to-device copy, at 2^28 elements
"$py" -m surrogate_ext bench ops --device cuda --sizes 28 --dtypes float32,bfloat16 --repeats 5 --no-progress
