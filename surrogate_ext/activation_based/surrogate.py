"""A drop-in for SpikingJelly 2.0's surrogate module::

    from surrogate_ext.activation_based import surrogate   # for: from spikingjelly.activation_based import surrogate

The 19 classes of ``spikingjelly.activation_based.surrogate`` (2.0.0) with its constructor
signatures, annotations and defaults, on the native operators ``torch.ops.surrogate_ext.*``:
:data:`SPECS` is the top level's table (:data:`surrogate_ext.surrogate.SPECS`) restricted to the
rows SpikingJelly wrote, with SpikingJelly 2.0's annotations (:data:`SIGNATURES`), and every class
is generated from it by :func:`surrogate_ext.core.classes.make_class`. Beside the classes, as in
SpikingJelly 2.0:

* :class:`SurrogateFunctionBase` ``(spiking=True, **kwargs)``: the keyword arguments become the
  surrogate's parameters (``_sg_param_names``, ``_sg_params``), and its ``forward`` calls the
  static ``spiking_function(x, **params)`` or ``primitive_function(x, **params)``, so a subclass of
  your own works as it does in SpikingJelly. So does a subclass of one of the classes here that
  defines its own ``spiking_function`` or ``primitive_function``: its forward calls them.
* ``Cls.spiking_function``, ``Cls.primitive_function`` and ``Cls.backward(grad_output, x, *params)``
  (the native operators), ``extra_repr`` and ``set_spiking_mode``;
* the lowercase ``torch.autograd.Function`` classes (``atan.apply(x, alpha)``, ``poisson_pass``)
  and the module-level ``<name>_backward(grad_output, x, *params)`` functions, which return
  ``(grad_x, None, ...)``;
* :func:`heaviside` and :func:`check_manual_grad`.

How this differs from SpikingJelly 2.0.0 is listed in ``docs/spikingjelly2.md``.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Dict, Tuple

import torch
from torch import Tensor

from ..clock_driven import surrogate as _top
from ..clock_driven.surrogate import heaviside
from ..core import classes as _classes
from ..core import registry
from ..core.checks import check_manual_grad
from ..core.classes import ClassSpec

# SpikingJelly 2.0.0's constructor annotations, and its defaults where they differ from the row's
# (as source text and values); every other parameter is the row's, unannotated as in SpikingJelly.
SIGNATURES: Dict[str, Tuple[Dict[str, str], Dict[str, object]]] = {
    "LeakyKReLU": ({"leak": "float", "k": "float"}, {}),
    "SquarewaveFourierSeries": ({"n": "int", "T_period": "float"}, {"T_period": 8}),
    "MultiLevelSpikeCount": ({"max_spike_count": "int", "spiking": "bool"}, {}),
}


def _spikingjelly2_spec(spec: ClassSpec) -> ClassSpec:
    annotations, defaults = SIGNATURES.get(spec.name, ({}, {}))
    params = tuple((name, defaults.get(name, default)) for name, default in spec.params)
    return dataclasses.replace(spec, params=params, annotations=tuple(annotations.items()))


SPECS: Tuple[ClassSpec, ...] = tuple(
    _spikingjelly2_spec(s) for s in _top.SPECS if s.entry.origin in (registry.SJ14, registry.SJ2))
"""SpikingJelly 2.0.0's classes: the top-level specs of the rows that SpikingJelly wrote (those of
0.0.0.0.14 and of 2.0), PoissonPass included, with SpikingJelly 2.0's signatures."""


class SurrogateFunctionBase(_top._SpikingJellySurrogate):
    """SpikingJelly 2.0's base of the surrogate modules: ``SurrogateFunctionBase(spiking=True,
    **kwargs)`` stores each keyword argument as an attribute, a parameter of the surrogate.

    ``forward`` calls ``spiking_function(x, **self._sg_params)`` (or ``primitive_function`` when
    not spiking): define both as static methods in a subclass of your own. The generated classes
    replace ``forward`` with a call of their native operator (which TorchScript compiles)."""

    _spec = None  # a generated class's spec; a subclass of your own has none
    _own_functions = False  # a subclass of a generated class that defines its own functions
    __jit_unused_properties__ = ["_sg_param_names", "_sg_params"]

    def __init__(self, spiking=True, **kwargs):
        torch.nn.Module.__init__(self)
        self.spiking = spiking
        self._sg_param_names = tuple(kwargs.keys())
        for k, v in kwargs.items():
            setattr(self, k, v)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = vars(cls)
        if "_spec" not in own and ("spiking_function" in own or "primitive_function" in own):
            # not generated, and with functions of its own: SpikingJelly's forward calls them
            cls._own_functions = True
            if "forward" not in own:
                cls.forward = SurrogateFunctionBase.forward

    @property
    def _sg_param_names(self) -> Tuple[str, ...]:
        return self._param_names

    @_sg_param_names.setter
    def _sg_param_names(self, names) -> None:
        self._param_names = tuple(names)

    @property
    def _sg_params(self) -> dict:
        return {k: getattr(self, k) for k in self._param_names}

    @staticmethod
    def spiking_function(x, **kwargs):
        raise NotImplementedError

    @staticmethod
    def primitive_function(x, **kwargs):
        raise NotImplementedError

    def forward(self, x: Tensor):
        if self.spiking:
            return self.spiking_function(x, **self._sg_params)
        return self.primitive_function(x, **self._sg_params)

    def native_call(self):
        if self._spec is None or self._own_functions:
            raise ValueError(f"the fused neurons need one of surrogate_ext's surrogates; "
                             f"{type(self).__name__} defines its own spiking_function")
        return super().native_call()


for _spec in SPECS:
    _classes.make_class(_spec, SurrogateFunctionBase, __name__, globals())
del _spec


# --- The lowercase Function classes and the module-level <name>_backward functions -------------

def function_name(spec: ClassSpec) -> str:
    """SpikingJelly's name of a class's autograd.Function: the row's operator name (ATan: atan), or
    the class name in snake case for a class that is not its row's own (PoissonPass: poisson_pass)."""
    if spec.name == spec.entry.cls:
        return spec.op
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", spec.name).lower()


def _function_class(spec: ClassSpec) -> type:
    """``<name>.apply(x, *params)``: the spiking forward and the native surrogate gradient."""
    keywords = _classes.spiking_keywords(spec)
    if not keywords:
        return getattr(_top, spec.op)  # the top level's class of the row
    return _classes.make_function(function_name(spec), spec.op, keywords, __name__)


def _backward_function(spec: ClassSpec):
    """``<name>_backward(grad_output, x, *params)``: ``(grad_x, None, ...)``, one None per
    parameter, as SpikingJelly 2.0's helpers return."""
    name = function_name(spec) + "_backward"
    params = spec.entry.params
    signature = "".join(f", {p.name}: {p.type.__name__}" for p in params)
    args = "".join(f", {p.name}" for p in params)
    source = (f"def {name}(grad_output: torch.Tensor, x: torch.Tensor{signature}):\n"
              f"    grad_x = torch.ops.surrogate_ext.{spec.op}_backward(grad_output, x{args})\n"
              f"    return (grad_x,) + (None,) * {len(params)}\n")
    function = _classes.compile_function(source, name, {"torch": torch})
    function.__module__ = __name__
    return function


for _spec in SPECS:
    globals()[function_name(_spec)] = _function_class(_spec)
    globals()[function_name(_spec) + "_backward"] = _backward_function(_spec)
del _spec

__all__ = (["heaviside", "check_manual_grad", "SurrogateFunctionBase"] + [s.name for s in SPECS]
           + [function_name(s) for s in SPECS] + [function_name(s) + "_backward" for s in SPECS])
