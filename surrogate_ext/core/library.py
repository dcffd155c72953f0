"""Loads the compiled operator library and reports how it was built."""
from __future__ import annotations

import os

import torch

# surrogate_ext/libsurrogate_ext.so, beside the package's __init__.py (where setup.py builds it)
_LIBRARY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "libsurrogate_ext.so")

try:
    # A plain libtorch library (no Python in it): loading it runs the TORCH_LIBRARY registrations.
    torch.ops.load_library(_LIBRARY)
except OSError as e:
    raise ImportError(
        f"surrogate_ext: the compiled operator library {_LIBRARY} is missing or does not load "
        f"({e}). Build it against the torch you import with "
        "`pip install --no-build-isolation .` (or `python setup.py build_ext --inplace`)."
    ) from e


def library_path() -> str:
    """Path of the shared library holding the ``surrogate_ext`` operators.

    A process that loads a saved TorchScript model using these operators must load it first:
    ``import surrogate_ext``, or ``torch.ops.load_library(surrogate_ext.library_path())``. C++
    programs link it (CMake: ``-DSURROGATE_EXT_LIBRARY=<this path>``, see CMakeLists.txt).
    """
    return _LIBRARY


def build_info() -> dict:
    """What the library was built with.

    Returns ``{"torch_version": "2.14.1", "cpu_capability": "avx2", "cuda": True,
    "cuda_version": "13000", "cuda_archs": ["900"]}``. ``cpu_capability`` names the CPU kernels in
    use ("avx2", or "default" without AVX2/FMA or with ``ATEN_CPU_CAPABILITY=default``); ``cuda``
    is False (and the last two keys absent) in a CPU-only build.
    """
    fields = dict(item.split("=", 1) for item in torch.ops.surrogate_ext.build_info().split(";"))
    info = {"torch_version": fields["torch_version"], "cpu_capability": fields["cpu_capability"],
            "cuda": fields["cuda"] == "1"}
    if info["cuda"]:
        info["cuda_version"] = fields["cuda_version"]
        info["cuda_archs"] = fields["cuda_archs"].split(",")
    return info
