"""The surrogate modules and Function classes, mirroring ``spikingjelly.clock_driven.surrogate``
(0.0.0.0.14), plus SpikingJelly 2.0's classes and the snnTorch and Norse shapes.

Every class is generated from a table (:data:`SPECS`, built on :mod:`surrogate_ext.registry`)
by :func:`surrogate_ext.core.classes.make_class`: a thin module over the native operators
``torch.ops.surrogate_ext.*``. ``Cls.spiking_function``, ``Cls.primitive_function`` and
``Cls.backward`` *are* those operators, so modules script, compile and export. Parameters are
checked once, at construction, with the operators' own messages.
"""
from __future__ import annotations

import numbers
from typing import Tuple

import torch
from torch import Tensor

from ..core import classes as _classes
from ..core import cuda_code as _cuda_code
from ..core import registry
from ..core.classes import REQUIRED, ClassSpec

_ops = torch.ops.surrogate_ext


def heaviside(x: Tensor) -> Tensor:
    """The heaviside step: 1 where x >= 0, else 0 (NaN gives 0), in x's dtype. Not differentiable."""
    return _ops.heaviside(x)


class _SpikingJellySurrogate(_classes._Surrogate):
    """What SpikingJelly's surrogate modules have beyond the generated ones: cuda_code."""

    def cuda_code(self, x: str, y: str, dtype: str = "fp32") -> str:
        """A CUDA C++ snippet declaring ``y`` as the surrogate gradient at ``x``
        (``float`` for dtype 'fp32', ``half2`` for 'fp16'), as SpikingJelly's neuron kernels use."""
        op, params, kwargs = self.native_call()
        if kwargs["grad_scale"] != 1.0:
            raise ValueError(f"cuda_code: {type(self).__name__} scales its gradient; cuda_code has "
                             f"no scale")
        return _cuda_code.cuda_code(op, params, x, y, dtype, "sg_" + self._get_name(),
                                    self.cuda_code_start_comments(), self.cuda_code_end_comments())

    def cuda_code_start_comments(self) -> str:
        return f"// start: surrogate_ext.{self._get_name()}.cuda_code"

    def cuda_code_end_comments(self) -> str:
        return f"// end: surrogate_ext.{self._get_name()}.cuda_code"


class SurrogateFunctionBase(_SpikingJellySurrogate):
    """Base of the surrogates with one parameter (or none): ``Cls(alpha, spiking=True)``.

    A subclass of your own sets ``spiking_function`` and ``primitive_function`` (static methods
    taking ``(x, alpha)``), as in SpikingJelly; the generated classes override everything."""

    def __init__(self, alpha, spiking: bool = True):
        torch.nn.Module.__init__(self)
        self.alpha = alpha
        self.spiking = bool(spiking)

    @staticmethod
    def spiking_function(x, alpha):
        raise NotImplementedError

    @staticmethod
    def primitive_function(x, alpha):
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        if self.spiking:
            return self.spiking_function(x, self.alpha)
        return self.primitive_function(x, self.alpha)


class MultiArgsSurrogateFunctionBase(_SpikingJellySurrogate):
    """Base of the surrogates with several parameters: ``Cls(p1, p2, spiking=True)``."""

    def __init__(self, spiking: bool, *args, **kwargs):
        torch.nn.Module.__init__(self)
        self.spiking = bool(spiking)


def _multi_level_window(max_spike_count, grad_window):
    """SpikingJelly 2.0's MultiLevelSpikeCount: grad_window (grad_min, grad_max) defaults to
    [0.0, float(max_spike_count)]."""
    if grad_window is None:
        real = isinstance(max_spike_count, numbers.Real)  # anything else fails the check after
        grad_window = (0.0, float(max_spike_count) if real else max_spike_count)
    grad_min, grad_max = grad_window
    return dict(max_spike_count=max_spike_count, grad_min=grad_min, grad_max=grad_max)


def _spec_of(entry: registry.Surrogate) -> ClassSpec:
    """The class of a registry row, with SpikingJelly's conventions (SpikingJelly 2.0's
    signatures where they differ from the row's parameters)."""
    params = tuple((p.name, p.default) for p in entry.params)
    if entry.op == "fake_numerical_gradient":  # always spiking: no `spiking` argument
        return ClassSpec(entry.cls, entry.op, params, spiking=False)
    if entry.op == "multi_level_spike_count":
        return ClassSpec(entry.cls, entry.op, (("max_spike_count", REQUIRED),),
                         extra=(("grad_window", None),), attributes=_multi_level_window)
    return ClassSpec(entry.cls, entry.op, params)


# The classes: one per registry row, and SpikingJelly 2.0's PoissonPass, which fires with
# probability x (DeterministicPass's primitive) and passes the gradient straight through.
SPECS: Tuple[ClassSpec, ...] = tuple(_spec_of(e) for e in registry.SURROGATES) + (
    ClassSpec("PoissonPass", "deterministic_pass", stochastic=True),
)
for _spec in SPECS:
    _base = MultiArgsSurrogateFunctionBase if len(_spec.params) > 1 else SurrogateFunctionBase
    _classes.make_class(_spec, _base, __name__, globals())
del _spec, _base


# --- The lowercase Function classes: ``atan.apply(x, alpha)`` and so on ------------------------

for _entry in registry.SURROGATES:
    globals()[_entry.op] = _classes.make_function(_entry.op, _entry.op, module=__name__)
del _entry

__all__ = ["heaviside", "SurrogateFunctionBase", "MultiArgsSurrogateFunctionBase"] + [
    s.name for s in SPECS] + [e.op for e in registry.SURROGATES]
