"""Builds surrogate_ext._C against the installed torch.

CUDA kernels are compiled whenever torch is a CUDA build and a CUDA toolkit is found
(torch.utils.cpp_extension.CUDA_HOME), whether or not a GPU is present; set
SURROGATE_EXT_FORCE_CPU=1 to build the CPU kernels only. Without a GPU, TORCH_CUDA_ARCH_LIST
names the archs to compile for (default here: "8.0;9.0+PTX").

Build with `pip install --no-build-isolation .`: an isolated build would compile against a
different torch than the one the module is imported with.
"""
import glob
import os

from setuptools import setup

try:
    import torch
    from torch.utils import cpp_extension
except ImportError as e:  # pragma: no cover - the message is the point
    raise SystemExit(
        "surrogate_ext builds against the installed torch: install torch first, then "
        "`pip install --no-build-isolation .`"
    ) from e

ROOT = os.path.dirname(os.path.abspath(__file__))
DEFAULT_ARCHS = "8.0;9.0+PTX"


def want_cuda() -> bool:
    if os.environ.get("SURROGATE_EXT_FORCE_CPU", "0") not in ("", "0"):
        return False
    return torch.version.cuda is not None and cpp_extension.CUDA_HOME is not None


def sources(pattern):
    return sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, pattern)))


def extension():
    with_cuda = want_cuda()
    srcs = (["csrc/surrogate_ext.cpp", "csrc/special_ops.cpp", "csrc/python_module.cpp"]
            + sources("csrc/cpu/*.cpp") + sources("csrc/autograd/*.cpp"))
    # No contraction of a*b + c into one fused multiply-add: the fused neurons evaluate
    # SpikingJelly's expressions op by op, as its step-by-step PyTorch code rounds them.
    cxx = ["-O3", "-g0", "-ffp-contract=off"]
    kwargs = dict(
        name="surrogate_ext._C",
        include_dirs=[os.path.join(ROOT, "csrc", "include")],
        py_limited_api=True,
    )
    if with_cuda:
        if not os.environ.get("TORCH_CUDA_ARCH_LIST") and not torch.cuda.is_available():
            os.environ["TORCH_CUDA_ARCH_LIST"] = DEFAULT_ARCHS
            print(f"surrogate_ext: no GPU visible and TORCH_CUDA_ARCH_LIST unset; building for {DEFAULT_ARCHS}")
        cxx.append("-DSURROGATE_EXT_WITH_CUDA")
        nvcc = ["-O3", "-DSURROGATE_EXT_WITH_CUDA", "--fmad=false"]
        return cpp_extension.CUDAExtension(
            sources=srcs + sources("csrc/cuda/*.cu"),
            extra_compile_args={"cxx": cxx, "nvcc": nvcc}, **kwargs)
    return cpp_extension.CppExtension(sources=srcs, extra_compile_args={"cxx": cxx}, **kwargs)


setup(
    ext_modules=[extension()],
    cmdclass={"build_ext": cpp_extension.BuildExtension},
    options={"bdist_wheel": {"py_limited_api": "cp39"}},
)
