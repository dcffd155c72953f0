"""torch.compile support: Inductor sees the elementwise operators' formulas and fuses them.

Eagerly, ``torch.ops.surrogate_ext.*`` run the native kernels. Under ``torch.compile`` with
Inductor (the default backend), an opaque call cannot fuse with the arithmetic around it, so
every elementwise operator is given a decomposition into aten pointwise ops, in Inductor's
decomposition table only:

* ``<op>(x, *params, strict=False, stochastic=False, grad_scale=1.0)``: ``entry.spike`` (the
  heaviside step, ``x > 0`` when strict); ``stochastic=True`` is left a call (it draws from
  torch's generator in the native kernel);
* ``<op>_primitive(x, *params)``: ``entry.primitive``, g(x);
* ``<op>_backward(grad_output, x, *params, grad_scale=1.0)``: grad_output * grad_scale * g'(x),
  with ``entry.grad``;
* ``<op>_primitive_backward(grad_output, x, *params)``: grad_output times the primitive's
  derivative (``entry.primitive_grad`` where the registry row has one, as the C++ functor's
  optional ``primitive_grad``; otherwise ``entry.grad``, which is that derivative);
* ``heaviside(x, strict=False)``: ``reference.heaviside``.

The formulas are the registry's reference functions (:mod:`surrogate_ext.reference`); float16
and bfloat16 compute in float32 and round once, as the native kernels do. A schema keyword this
module does not know keeps its operator a call (:func:`skipped` names it), never a wrong formula.

AOTAutograd decomposes below autograd: the C++ autograd of ``<op>`` calls ``<op>_backward`` in its
backward, so the joint graph Inductor receives has the decomposed formula in both the forward and
the backward. ``torch.export`` (its default decompositions are the core aten table),
``aot_eager``, TorchScript and eager mode never read Inductor's table, so they keep the
operators. The fused multi-step neuron operators are not decomposed: Inductor calls them.

Registration is lazy: ``torch._inductor.decomposition`` takes seconds to import, so
``import surrogate_ext`` does not import it. If it is already imported, the decompositions are
registered at once; otherwise a one-shot import hook registers them the moment torch imports it
(the first ``torch.compile`` with Inductor, or AOTInductor). docs/compile.md explains the choice.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from typing import Callable, Dict, Optional

import torch
from torch import Tensor

from . import reference, registry

_HALF_TYPES = (torch.float16, torch.bfloat16)

# The keyword-only schema arguments each kind of operator may have, and that its decomposition
# honours. Any other keyword keeps the operator a call.
_KNOWN_KEYWORDS = {
    "": {"strict", "stochastic", "grad_scale"},
    "_primitive": set(),
    "_backward": {"grad_scale"},
    "_primitive_backward": set(),
    "heaviside": {"strict"},
}
_TENSOR_ARGUMENTS = {"": ("x",), "_primitive": ("x",), "_backward": ("grad_output", "x"),
                     "_primitive_backward": ("grad_output", "x"), "heaviside": ("x",)}

INDUCTOR_DECOMPOSITION_MODULE = "torch._inductor.decomposition"


def _opmath(t: Tensor) -> Tensor:
    """t in the type the native kernels compute in: float32 for float16/bfloat16, else t."""
    return t.float() if t.dtype in _HALF_TYPES else t


def _primitive_derivative(entry: registry.Surrogate) -> Callable[..., Tensor]:
    """The exact derivative of the primitive: the row's ``primitive_grad`` where it has one (the C++
    functors' optional ``primitive_grad``), else its surrogate gradient ``grad``."""
    return getattr(entry, "primitive_grad", None) or entry.grad


def _full_params(entry: registry.Surrogate, params: tuple) -> tuple:
    """The parameters in schema order, trailing defaults filled in."""
    return tuple(params) + entry.defaults[len(params):]


def _spike_decomposition(entry: registry.Surrogate) -> Callable[..., Tensor]:
    def spike(x: Tensor, *params, strict: bool = False, stochastic: bool = False,
              grad_scale: float = 1.0) -> Tensor:
        if stochastic:  # a Bernoulli draw from torch's generator: the native kernel's job
            return NotImplemented
        # grad_scale only scales the backward, which the C++ autograd sends to <op>_backward.
        return entry.spike(_opmath(x), *_full_params(entry, params), strict=strict).to(x.dtype)

    return spike


def _primitive_decomposition(entry: registry.Surrogate) -> Callable[..., Tensor]:
    def primitive(x: Tensor, *params) -> Tensor:
        return entry.primitive(_opmath(x), *_full_params(entry, params)).to(x.dtype)

    return primitive


def _gradient_decomposition(entry: registry.Surrogate,
                            derivative_of: Callable[[registry.Surrogate], Callable[..., Tensor]]
                            ) -> Callable[..., Tensor]:
    """grad_output * derivative(x) (* grad_scale), in opmath, rounded once to x's dtype."""
    def gradient(grad_output: Tensor, x: Tensor, *params, grad_scale: float = 1.0) -> Tensor:
        derivative = derivative_of(entry)(_opmath(x), *_full_params(entry, params))
        grad_x = _opmath(grad_output) * derivative
        if grad_scale != 1.0:
            grad_x = grad_x * grad_scale
        return grad_x.to(x.dtype)

    return gradient


def _backward_decomposition(entry: registry.Surrogate) -> Callable[..., Tensor]:
    return _gradient_decomposition(entry, lambda e: e.grad)


def _primitive_backward_decomposition(entry: registry.Surrogate) -> Callable[..., Tensor]:
    return _gradient_decomposition(entry, _primitive_derivative)


def _heaviside_decomposition(x: Tensor, *, strict: bool = False) -> Tensor:
    return reference.heaviside(x, strict)


def _schema_problem(overload: torch._ops.OpOverload, kind: str,
                    params: tuple) -> Optional[str]:
    """Why the decomposition of ``kind`` cannot stand for this schema, or None if it can."""
    arguments = overload._schema.arguments
    positional = tuple(a.name for a in arguments if not a.kwarg_only)
    expected = _TENSOR_ARGUMENTS[kind] + params
    if positional != expected:
        return f"positional arguments {positional}, expected {expected}"
    unknown = {a.name for a in arguments if a.kwarg_only} - _KNOWN_KEYWORDS[kind]
    if unknown:
        return f"keyword arguments {sorted(unknown)} have no decomposition"
    return None


_SKIPPED: Dict[str, str] = {}


def decompositions() -> Dict[torch._ops.OpOverload, Callable[..., Tensor]]:
    """Every elementwise operator of every registry row, and ``heaviside``, mapped to its
    pointwise decomposition (keys are ``OpOverload``s such as
    ``torch.ops.surrogate_ext.atan.default``). An operator whose schema has an argument the
    decomposition does not honour is left out and listed by :func:`skipped`."""
    ops = torch.ops.surrogate_ext
    builders = {"": _spike_decomposition, "_primitive": _primitive_decomposition,
                "_backward": _backward_decomposition,
                "_primitive_backward": _primitive_backward_decomposition}
    candidates = [(ops.heaviside.default, "heaviside", (), _heaviside_decomposition)]
    for entry in registry.SURROGATES:
        for suffix, build in builders.items():
            overload = getattr(ops, entry.op + suffix).default
            candidates.append((overload, suffix, entry.param_names, build(entry)))
    table = {}
    _SKIPPED.clear()
    for overload, kind, params, decomposition in candidates:
        problem = _schema_problem(overload, kind, params)
        if problem is None:
            decomposition.__name__ = decomposition.__qualname__ = (
                f"{overload._schema.name.split('::')[1]}_decomposition")
            table[overload] = decomposition
        else:
            _SKIPPED[str(overload)] = problem
    return table


def skipped() -> Dict[str, str]:
    """The operators :func:`decompositions` left out (they stay calls), with the reason."""
    decompositions()
    return dict(_SKIPPED)


# --- Registration in Inductor's table -------------------------------------------------------

_registered_in: Optional[object] = None  # the decomposition module the table went into


def register(inductor_decomposition=None) -> Dict[torch._ops.OpOverload, Callable[..., Tensor]]:
    """Adds :func:`decompositions` to ``torch._inductor.decomposition.decompositions`` (imported
    if not given) and returns them. Idempotent. ``select_decomp_table()`` serves a cached copy of
    that dict (``fast_random_decomps``); its cache is cleared so that the copy has them too."""
    global _registered_in
    if inductor_decomposition is None:
        import torch._inductor.decomposition as inductor_decomposition
    table = decompositions()
    inductor_decomposition.decompositions.update(table)
    cached = getattr(inductor_decomposition, "fast_random_decomps", None)
    if cached is not None and hasattr(cached, "cache_clear"):
        cached.cache_clear()
    _registered_in = inductor_decomposition
    return table


def is_registered() -> bool:
    """Whether Inductor's decomposition table holds this module's decompositions."""
    return _registered_in is not None


class _RegisterOnImport(importlib.abc.MetaPathFinder):
    """A one-shot import hook: when ``torch._inductor.decomposition`` is imported, let it load,
    then :func:`register`."""

    def find_spec(self, fullname, path, target=None):
        if fullname != INDUCTOR_DECOMPOSITION_MODULE:
            return None
        _remove_hook()
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            register(module)

        spec.loader.exec_module = exec_then_register
        return spec


_hook: Optional[_RegisterOnImport] = None


def _remove_hook() -> None:
    global _hook
    if _hook is not None and _hook in sys.meta_path:
        sys.meta_path.remove(_hook)
    _hook = None


def install() -> None:
    """Registers now if Inductor's decomposition module is loaded, else on its import."""
    global _hook
    module = sys.modules.get(INDUCTOR_DECOMPOSITION_MODULE)
    if module is not None:
        register(module)
    elif _hook is None:
        _hook = _RegisterOnImport()
        sys.meta_path.insert(0, _hook)


install()
