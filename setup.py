"""Builds the operator library, surrogate_ext/libsurrogate_ext.so, against the installed torch.

The library is a plain libtorch shared library: it links c10/torch only, never Python or
libtorch_python, and has no PyInit function. `surrogate_ext` loads it with
`torch.ops.load_library`, and C++ programs link it directly (CMakeLists.txt imports it with
-DSURROGATE_EXT_LIBRARY=...), so one build serves both.

CUDA kernels are compiled whenever torch is a CUDA build and a CUDA toolkit is found
(torch.utils.cpp_extension.CUDA_HOME), whether or not a GPU is present; set
SURROGATE_EXT_FORCE_CPU=1 to build the CPU kernels only. Without a GPU, TORCH_CUDA_ARCH_LIST
names the archs to compile for (default here: "8.0;9.0+PTX").

Build with `pip install --no-build-isolation .` (add -v to see the compiler's progress): an
isolated build would compile against a different torch than the one the module is imported with.
While developing, `python setup.py build_ext --inplace --build-temp build/NAME` keeps the objects
in build/NAME, and ninja recompiles only what changed (headers included) on the next run.
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
INCLUDE = os.path.join(ROOT, "csrc", "include")
DEFAULT_ARCHS = "8.0;9.0+PTX"
# Our code is compiled with -Wall -Wextra; torch's headers come in as system headers (below), but
# GCC still reports two flow-based warnings at lines of theirs once their code is inlined into
# ours, whatever the include kind: -Wmaybe-uninitialized at c10/util/SmallVector.h:139 (the
# SmallVector that TensorIterator's loop_2d_from_1d builds) and -Wstringop-overflow at
# ATen/cpu/vec/vec256/vec256_16bit_float.h:261 (memcpy in Vectorized16::loadu(ptr, count), whose
# count GCC cannot bound). -Wno-psabi: GCC's notes that passing 32-byte vectors changed ABI in
# GCC 4.6/7.1, about calls that never cross a library boundary. CMakeLists.txt uses the same list.
WARNINGS = ["-Wall", "-Wextra", "-Wno-psabi", "-Wno-maybe-uninitialized", "-Wno-stringop-overflow"]
# The file name C++ programs link against (CMakeLists.txt's imported target expects this soname).
SONAME = "libsurrogate_ext.so"


def want_cuda() -> bool:
    if os.environ.get("SURROGATE_EXT_FORCE_CPU", "0") not in ("", "0"):
        return False
    return torch.version.cuda is not None and cpp_extension.CUDA_HOME is not None


def sources(*patterns):
    return sorted(os.path.relpath(p, ROOT) for pattern in patterns
                  for p in glob.glob(os.path.join(ROOT, pattern)))


def extension():
    with_cuda = want_cuda()
    srcs = ["csrc/surrogate_ext.cpp", "csrc/special_ops.cpp"] + sources("csrc/cpu/*.cpp", "csrc/autograd/*.cpp")
    # No contraction of a*b + c into one fused multiply-add: the fused neurons evaluate
    # SpikingJelly's expressions op by op, as its step-by-step PyTorch code rounds them.
    cxx = ["-O3", "-g0", "-ffp-contract=off"] + WARNINGS
    nvcc = ["-O3", "--fmad=false", "-Xcompiler=" + ",".join(WARNINGS)]
    kwargs = dict(
        # -> surrogate_ext/libsurrogate_ext.so (BuildExtension drops the ABI suffix below)
        name="surrogate_ext." + SONAME[:-len(".so")],
        include_dirs=[INCLUDE],
        # py_limited_api: CppExtension then links no libtorch_python; the library has no Python.
        py_limited_api=True,
        depends=sources("csrc/include/surrogate_ext/*.h", "csrc/cpu/*.h", "csrc/cuda/*.cuh"),
        extra_link_args=[f"-Wl,-soname,{SONAME}"],
    )
    if with_cuda:
        if not os.environ.get("TORCH_CUDA_ARCH_LIST") and not torch.cuda.is_available():
            os.environ["TORCH_CUDA_ARCH_LIST"] = DEFAULT_ARCHS
            print(f"surrogate_ext: no GPU visible and TORCH_CUDA_ARCH_LIST unset; building for {DEFAULT_ARCHS}")
        cxx.append("-DSURROGATE_EXT_WITH_CUDA")
        nvcc.append("-DSURROGATE_EXT_WITH_CUDA")
        ext = cpp_extension.CUDAExtension(sources=srcs + sources("csrc/cuda/*.cu"),
                                          extra_compile_args={"cxx": cxx, "nvcc": nvcc}, **kwargs)
    else:
        ext = cpp_extension.CppExtension(sources=srcs, extra_compile_args={"cxx": cxx}, **kwargs)
    # torch's (and the CUDA toolkit's) headers as system headers: their warnings are not ours.
    system = [d for d in ext.include_dirs if d != INCLUDE]
    ext.include_dirs = [INCLUDE]
    for flags in ext.extra_compile_args.values():
        flags += [arg for d in system for arg in ("-isystem", d)]
    return ext


setup(
    ext_modules=[extension()],
    cmdclass={"build_ext": cpp_extension.BuildExtension.with_options(no_python_abi_suffix=True)},
    options={"bdist_wheel": {"py_limited_api": "cp310"}},
)
