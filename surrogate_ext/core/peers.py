"""Drop-in namespaces for other libraries' surrogates, generated from one table per peer.

A :class:`PeerSurrogate` row says how one of a peer's surrogates is computed by one of our
operators (a registry row): the peer's name and parameters (names, defaults, constraints), the
row's parameters and the gradient's multiplier as expressions of the peer's parameters, the
threshold convention (``strict``: x > 0), whether the forward fires at random, and the peer's
behaviour that we deliberately fix. Nothing in a namespace computes a formula by hand:

* :func:`module_class` turns a row into an ``nn.Module`` class (snnTorch's ``spike_grad=``
  callables), through :func:`surrogate_ext.core.classes.make_class`, so it scripts, compiles and
  exports, and the fused neurons read it (``native_call()``);
* :func:`function` turns a row into a function ``name(x, *params)`` (Norse's functional API),
  generated from source so that TorchScript compiles it.

In the expressions, ``{name}`` stands for the peer's parameter ``name``.
"""
from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from typing import Optional, Tuple

import torch

from . import classes as _classes
from . import registry

REQUIRED = registry.REQUIRED


@dataclass(frozen=True)
class PeerParam:
    name: str
    default: object = REQUIRED
    positive: bool = False  # must be finite and > 0; otherwise finite


@dataclass(frozen=True)
class AtZero:
    """The peer's formula where its parameter ``param`` is 0: still defined (its limit), but
    computed by another row, ``op`` with ``op_args`` and ``grad_scale`` (expressions of the
    peer's parameters, as PeerSurrogate's). ``param`` may then be 0 (finite and >= 0)."""
    param: str
    op: str
    op_args: Tuple[str, ...] = ()
    grad_scale: str = "1.0"


@dataclass(frozen=True)
class PeerSurrogate:
    name: str  # the peer's name: snnTorch's factory, Norse's function
    op: str  # our operator: a registry row
    params: Tuple[PeerParam, ...] = ()  # the peer's parameters, in its order
    op_args: Tuple[str, ...] = ()  # the row's parameters, as expressions of the peer's
    grad_scale: str = "1.0"  # the multiplier of the row's gradient, an expression of the peer's
    strict: bool = True  # fires on x > 0
    stochastic: bool = False  # fires with probability g(x), the row's primitive
    gradient: str = ""  # the peer's gradient as its code computes it (docstrings, docs)
    fix: str = ""  # the peer's behaviour that we deliberately fix (docs; the tests check it)
    at_zero: Optional[AtZero] = None  # a positive parameter that may also be 0, and its row there

    def __post_init__(self):
        if self.strict and self.stochastic:
            raise ValueError(f"{self.name}: strict and stochastic exclude each other")
        for op, op_args in ((self.op, self.op_args),) + (
                ((self.at_zero.op, self.at_zero.op_args),) if self.at_zero else ()):
            if len(op_args) != len(registry.BY_OP[op].params):
                raise ValueError(f"{self.name}: {op} takes {registry.BY_OP[op].param_names}")
        if self.at_zero and self.at_zero.param not in self.param_names:
            raise ValueError(f"{self.name}: at_zero names {self.at_zero.param}, not a parameter")

    def zero_ok(self, param: str) -> bool:
        """Whether the positive parameter ``param`` may also be 0 (the formula's limit there)."""
        return self.at_zero is not None and self.at_zero.param == param

    @property
    def param_names(self) -> Tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def expressions(self, ref: str, at_zero: bool = False) -> Tuple[Tuple[str, ...], str]:
        """(the row's arguments, the gradient's multiplier) with the peer's parameter ``name``
        written ``ref.format(name)``: ``"self.{}"`` in a module, ``"{}"`` in a function. With
        ``at_zero``, those of the row that computes the formula where at_zero.param is 0."""
        names = {n: ref.format(n) for n in self.param_names}
        op_args, grad_scale = ((self.at_zero.op_args, self.at_zero.grad_scale) if at_zero
                               else (self.op_args, self.grad_scale))
        return tuple(a.format(**names) for a in op_args), grad_scale.format(**names)

    def _values(self, args, kwargs) -> dict:
        values = {p.name: p.default for p in self.params}
        values.update(zip(self.param_names, args))
        values.update(kwargs)
        if set(values) != set(self.param_names) or any(v is REQUIRED for v in values.values()):
            raise TypeError(f"{self.name}: takes parameters {self.param_names}, got {values!r}")
        return {n: to_float(self.name, n, v) for n, v in values.items()}

    def _at_zero(self, scope: dict) -> bool:
        return self.at_zero is not None and scope[self.at_zero.param] == 0.0

    def call(self, *args, **kwargs) -> Tuple[str, Tuple[float, ...], float]:
        """(the operator, its parameter values, the gradient's multiplier) for the peer's
        arguments, defaults filled in: ``at_zero.op`` where its parameter is 0, else ``op``."""
        scope = self._values(args, kwargs)
        at_zero = self._at_zero(scope)
        op_args, grad_scale = self.expressions("{}", at_zero)
        return ((self.at_zero.op if at_zero else self.op), tuple(float(eval(a, {}, scope)) for a in op_args),
                float(eval(grad_scale, {}, scope)))

    def bind(self, *args, **kwargs) -> Tuple[Tuple[float, ...], float]:
        """:meth:`call`'s parameter values and gradient multiplier."""
        return self.call(*args, **kwargs)[1:]

    def signature(self) -> str:
        """The peer's parameters as its signature writes them: ``slope=25``."""
        return ", ".join(p.name if p.default is REQUIRED else f"{p.name}={p.default!r}"
                         for p in self.params)


def check_param(owner: str, name: str, value: float, positive: bool, zero_ok: bool = False) -> float:
    """``value``, or ValueError "<owner>: <name> must be finite[ and > 0 | >= 0], got <value>"
    (``zero_ok``: a positive parameter may be 0). TorchScript compiles it, so the generated
    functions check their parameters when scripted."""
    if not math.isfinite(value) or (positive and not (value > 0.0 or (zero_ok and value == 0.0))):
        bound = " and >= 0" if zero_ok else " and > 0"
        raise ValueError(owner + ": " + name + " must be finite" + (bound if positive else "")
                         + ", got " + str(value))
    return value


def to_float(owner: str, name: str, value) -> float:
    """A parameter value as a float: a real number, or a one-element tensor (Norse's
    ``LIFParameters.alpha`` is a 0-d tensor). TypeError naming the parameter otherwise."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r}")
    return float(value)


# --- modules -----------------------------------------------------------------------------------

class PeerModule(_classes._Surrogate):
    """Base of the generated peer modules: always spiking, with the peer's parameters as float
    attributes (assigning one takes effect at the next call)."""

    def set_spiking_mode(self, spiking: bool):
        """The peers' surrogates have no primitive mode (ours would be the row's unscaled
        primitive, which is not the peer's); only ``True`` is accepted."""
        if not spiking:
            raise ValueError(f"{type(self).__name__}: the peer's surrogate is always spiking")

    def extra_repr(self) -> str:
        return ", ".join(f"{n}={getattr(self, n)}" for n in self._param_names)


def _checked_attributes(row: PeerSurrogate, **values) -> dict:
    return {p.name: check_param(row.name, p.name, to_float(row.name, p.name, values[p.name]),
                                p.positive, row.zero_ok(p.name))
            for p in row.params}


def module_class(row: PeerSurrogate, module: str, namespace: dict, doc: str = "") -> type:
    """The module class of ``row``, named after the peer's factory, with the peer's signature."""
    if row.at_zero:
        raise NotImplementedError(f"{row.name}: a module computes one row; at_zero is for functions")
    op_args, grad_scale = row.expressions("self.{}")
    spec = _classes.ClassSpec(
        row.name, row.op, tuple((p.name, p.default) for p in row.params), spiking=False,
        op_args=op_args, strict=row.strict, stochastic=row.stochastic, grad_scale=grad_scale,
        attributes=functools.partial(_checked_attributes, row), doc=doc)
    return _classes.make_class(spec, PeerModule, module, namespace)


# --- functions ---------------------------------------------------------------------------------

def function_source(row: PeerSurrogate) -> str:
    """The source of ``row.name(x, *params)``: checks each parameter, then calls the operator
    (``row.at_zero``'s where its parameter is 0). An integer or bool ``x`` has no gradient: a
    deterministic function returns the spikes x > 0 in x's dtype, as Norse's do; a stochastic one
    draws from x as a float tensor (Norse's probability promotes it). A complex ``x`` reaches the
    operator, whose TypeError names the dtypes it takes."""
    params = "".join(f", {p.name}: float" + ("" if p.default is REQUIRED else f" = {float(p.default)!r}")
                     for p in row.params)
    checks = "".join(f"    {p.name} = check_param({row.name!r}, {p.name!r}, float({p.name}), "
                     f"{p.positive}, {row.zero_ok(p.name)})\n" for p in row.params)
    integer = "        x = x.float()\n" if row.stochastic else "        return (x > 0).to(x.dtype)\n"

    def call(op: str, at_zero: bool) -> str:
        op_args, grad_scale = row.expressions("{}", at_zero)
        args = "".join(f", {a}" for a in op_args)
        return (f"torch.ops.surrogate_ext.{op}(x{args}, strict={row.strict}, "
                f"stochastic={row.stochastic}, grad_scale={grad_scale})")

    zero = (f"    if {row.at_zero.param} == 0.0:\n        return {call(row.at_zero.op, True)}\n"
            if row.at_zero else "")
    return (f"def {row.name}(x: torch.Tensor{params}) -> torch.Tensor:\n{checks}"
            f"    if not x.is_floating_point() and not x.is_complex():\n{integer}{zero}"
            f"    return {call(row.op, False)}\n")


def function(row: PeerSurrogate, module: str, doc: str = ""):
    """The function of ``row``, with the peer's name and signature; TorchScript compiles it."""
    fn = _classes.compile_function(function_source(row), row.name,
                                   {"torch": torch, "check_param": check_param})
    fn.__module__, fn.__doc__ = module, doc or None
    return fn
