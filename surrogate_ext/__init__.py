"""surrogate_ext: native, exportable surrogate-gradient spike functions and fused spiking neurons
for PyTorch.

``import surrogate_ext as surrogate`` is a drop-in for ``from spikingjelly.clock_driven import
surrogate``: the same classes and functions, backed by the operators ``torch.ops.surrogate_ext.*``
(CPU and CUDA kernels, autograd in C++), which TorchScript, torch.compile and torch.export see.

The package, by role (ARCHITECTURE.md has the map):

* :mod:`surrogate_ext.core`: the operator library (loader, the tables, the float64 reference,
  fake kernels, Inductor decompositions, class factories);
* one sub-package per API mirrored, each thin over the core's tables, reached by the peer's own
  import path with its prefix renamed: :mod:`surrogate_ext.clock_driven` (SpikingJelly
  0.0.0.0.14), :mod:`surrogate_ext.activation_based` (SpikingJelly 2.0),
  :mod:`surrogate_ext.snntorch`, :mod:`surrogate_ext.norse`;
* :mod:`surrogate_ext.onnx`: ONNX export of the forward operators;
* :mod:`surrogate_ext.cli`: the programs behind the ``surrogate-ext`` command.
"""
from .core.library import build_info, library_path
from .core import fake as _fake  # noqa: F401  (registers the fake kernels)
from .core import inductor as _inductor  # noqa: F401  (Inductor's decompositions)
from .core import registry, reference
from .core.checks import check_cuda_grad, check_manual_grad
from .clock_driven.surrogate import *  # noqa: F401,F403
from .clock_driven.surrogate import __all__ as _surrogate_all

__all__ = ["build_info", "library_path", "check_manual_grad", "check_cuda_grad", "registry",
           "reference"] + _surrogate_all
__version__ = "0.1.0"
