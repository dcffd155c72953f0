"""surrogate_ext: native, exportable surrogate-gradient spike functions for PyTorch.

``import surrogate_ext as surrogate`` is a drop-in for ``from spikingjelly.clock_driven import
surrogate``: the same classes and functions, backed by the operators ``torch.ops.surrogate_ext.*``
(CPU and CUDA kernels, autograd in C++), which TorchScript, torch.compile and torch.export see.
"""
from ._library import build_info, library_path
from . import _fake  # noqa: F401  (registers the fake kernels)
from . import inductor  # noqa: F401  (Inductor's decompositions, registered when Inductor loads)
from . import registry, reference
from .checks import check_cuda_grad, check_manual_grad
from .surrogate import *  # noqa: F401,F403
from .surrogate import __all__ as _surrogate_all
from . import neuron  # noqa: E402  (after the surrogates it defaults to)

__all__ = ["build_info", "library_path", "check_manual_grad", "check_cuda_grad", "registry",
           "reference", "neuron"] + _surrogate_all
__version__ = "0.1.0"
