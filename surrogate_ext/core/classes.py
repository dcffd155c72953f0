"""Module classes generated from tables, so that no namespace writes per-class code.

A :class:`ClassSpec` says how one class is built on a registry row: its constructor parameters
(names, defaults, whether it takes ``spiking``), the row's operator arguments as expressions of
the module's attributes, and the keyword arguments of the spiking operator (``strict``,
``stochastic``, ``grad_scale``). :func:`make_class` turns a spec into an ``nn.Module`` subclass
whose ``__init__`` has exactly the spec's signature and whose ``forward`` calls the operators,
so that the module scripts, compiles and exports. The forward reads the attributes on every call,
so assigning one (``sg.alpha = 3.0``, to anneal a surrogate) takes effect at once.

TorchScript compiles a method from its source: the generated methods' source is registered with
:mod:`linecache` under a file name of their own, where ``inspect.getsource`` finds it.
"""
from __future__ import annotations

import functools
import itertools
import linecache
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

import torch

from . import registry

REQUIRED = registry.REQUIRED
_counter = itertools.count()


@dataclass(frozen=True)
class ClassSpec:
    name: str  # the class name
    op: str  # the registry row
    params: Tuple[Tuple[str, object], ...] = ()  # constructor parameters before `spiking`: (name, default)
    spiking: bool = True  # the constructor takes spiking=True (a module without it is always spiking)
    op_args: Optional[Tuple[str, ...]] = None  # the row's parameters from the attributes (self.<name>)
    strict: bool = False  # fires on x > 0
    stochastic: bool = False  # fires with probability g(x)
    grad_scale: str = "1.0"  # an expression of the attributes
    extra: Tuple[Tuple[str, object], ...] = ()  # constructor parameters after `spiking`
    attributes: Optional[Callable] = None  # constructor values -> attribute values (default: the same)
    annotations: Tuple[Tuple[str, str], ...] = ()  # constructor parameter -> annotation (source text)
    doc: str = ""

    @property
    def entry(self) -> registry.Surrogate:
        return registry.BY_OP[self.op]

    @property
    def arg_exprs(self) -> Tuple[str, ...]:
        if self.op_args is not None:
            return self.op_args
        return tuple(f"self.{name}" for name in self.entry.param_names)


def compile_function(source: str, name: str, namespace: dict):
    """Defines the function `name` from `source`, with the source findable by inspect."""
    filename = f"<surrogate_ext generated {name} #{next(_counter)}>"
    lines = source.splitlines(keepends=True)
    linecache.cache[filename] = (len(source), None, lines, filename)
    # dont_inherit: annotations are evaluated (this module's `from __future__ import annotations`
    # would leave them strings), so that inspect.signature shows the types themselves
    exec(compile(source, filename, "exec", dont_inherit=True), namespace)
    return namespace[name]


def _signature(spec: ClassSpec) -> str:
    annotations = dict(spec.annotations)

    def parameter(name, default):
        text = name + (f": {annotations[name]}" if name in annotations else "")
        if default is REQUIRED:
            return text
        return text + (" = " if name in annotations else "=") + repr(default)

    parts = ["self"] + [parameter(name, default) for name, default in spec.params]
    if spec.spiking:
        parts.append(parameter("spiking", True))
    parts += [parameter(name, default) for name, default in spec.extra]
    return ", ".join(parts)


def _init_source(spec: ClassSpec) -> str:
    names = [name for name, _ in spec.params] + [name for name, _ in spec.extra]
    values = ", ".join(f"{n}={n}" for n in names)
    spiking = "spiking" if spec.spiking else "True"
    return (f"def __init__({_signature(spec)}):\n"
            f"    _Surrogate.__init__(self)\n"
            f"    self._init_surrogate({spiking}, dict({values}))\n")


def _forward_source(spec: ClassSpec) -> str:
    ops = f"torch.ops.surrogate_ext.{spec.op}"
    args = "".join(f", {a}" for a in spec.arg_exprs)
    return (f"def forward(self, x: torch.Tensor) -> torch.Tensor:\n"
            f"    if self.spiking:\n"
            f"        return {ops}(x{args}, strict={spec.strict}, stochastic={spec.stochastic}, "
            f"grad_scale={spec.grad_scale})\n"
            f"    return {ops}_primitive(x{args})\n")


def _op_params_source(spec: ClassSpec) -> str:
    values = "".join(f"{a}, " for a in spec.arg_exprs)
    return f"def _op_params(self):\n    return ({values})\n"


def _grad_scale_source(spec: ClassSpec) -> str:
    return f"def _grad_scale(self):\n    return float({spec.grad_scale})\n"


class _Surrogate(torch.nn.Module):
    """What every generated surrogate module shares: parameters, mode, repr and what the native
    neurons read (:meth:`native_call`)."""

    _spec: ClassSpec

    def _init_surrogate(self, spiking: bool, values: dict) -> None:
        spec = self._spec
        attributes = spec.attributes(**values) if spec.attributes is not None else values
        for name, value in attributes.items():
            setattr(self, name, value)
        self._param_names = tuple(attributes)
        self.spiking = bool(spiking)
        self.surrogate_params()  # validates, with the operator's messages

    def surrogate_params(self) -> Tuple:
        """The row's parameter values for the operators, checked and converted."""
        return registry.BY_OP[self._spec.op].check(*self._op_params())

    def native_call(self) -> Tuple[str, Tuple, dict]:
        """(operator, parameters, keyword arguments) of the spiking forward: what the native
        multi-step neurons call."""
        spec = self._spec
        return spec.op, self.surrogate_params(), dict(strict=spec.strict,
                                                      grad_scale=self._grad_scale())

    def set_spiking_mode(self, spiking: bool):
        self.spiking = bool(spiking)

    def extra_repr(self) -> str:
        values = [f"{n}={getattr(self, n)}" for n in self._param_names]
        return ", ".join(values + [f"spiking={self.spiking}"])


def spiking_keywords(spec: ClassSpec) -> dict:
    """The keyword arguments that make the row's spiking operator this spec's forward, where they
    are not the defaults: ``strict=True``, ``stochastic=True`` (PoissonPass fires at random)."""
    return {k: True for k in ("strict", "stochastic") if getattr(spec, k)}


def make_function(name: str, op: str, keywords: Optional[dict] = None, module: str = __name__) -> type:
    """The autograd.Function ``name.apply(x, *params)`` of registry row `op`: the spiking operator
    (with `keywords` such as stochastic=True) forward, its native surrogate gradient backward.
    Static methods closing over the row, so that torch.compile traces it."""
    entry = registry.BY_OP[op]
    spike = getattr(torch.ops.surrogate_ext, op)
    backward_op = getattr(torch.ops.surrogate_ext, op + "_backward")
    keywords = dict(keywords or {})

    # The closure holds only what Dynamo can wrap without a source (torch 2.8's cannot wrap the
    # registry row); the row is reached through the module global.
    def forward(ctx, x, *params):
        if torch.compiler.is_compiling():  # the operator checks the parameters
            params = params + registry.BY_OP[op].defaults[len(params):]
        else:
            params = registry.BY_OP[op].check(*params)  # the defaults fill trailing parameters
        ctx.save_for_backward(x)
        ctx.params = params
        return spike(x, *params, **keywords)

    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        grad_x = backward_op(grad_output, x, *ctx.params,
                             grad_scale=keywords.get("grad_scale", 1.0))
        return (grad_x,) + (None,) * len(ctx.params)

    return type(name, (torch.autograd.Function,), {
        "forward": staticmethod(forward), "backward": staticmethod(backward),
        "__module__": module,
        "__doc__": f"``{name}.apply(x, *params)``: the spiking forward of {entry.cls} and its "
                   f"native surrogate gradient backward."})


def _spiking_function(spec: ClassSpec):
    """The static ``spiking_function(x, *params)``: the operator itself, or the operator with the
    spec's :func:`spiking_keywords` bound."""
    op = getattr(torch.ops.surrogate_ext, spec.op)
    keywords = spiking_keywords(spec)
    return functools.partial(op, **keywords) if keywords else op


def make_class(spec: ClassSpec, base: type = _Surrogate, module: str = __name__,
               namespace: Optional[dict] = None) -> type:
    """The module class of `spec`, derived from `base` (a subclass of :class:`_Surrogate`)."""
    ops = torch.ops.surrogate_ext
    scope = {"torch": torch, "_Surrogate": _Surrogate}
    methods = {
        "__init__": compile_function(_init_source(spec), "__init__", dict(scope)),
        "forward": compile_function(_forward_source(spec), "forward", dict(scope)),
        "_op_params": compile_function(_op_params_source(spec), "_op_params", dict(scope)),
        "_grad_scale": compile_function(_grad_scale_source(spec), "_grad_scale", dict(scope)),
    }
    attrs = dict(methods)
    attrs.update({
        "_spec": spec,
        "__module__": module,
        "__doc__": spec.doc or None,
        "spiking_function": staticmethod(_spiking_function(spec)),
        "primitive_function": staticmethod(getattr(ops, spec.op + "_primitive")),
        "backward": staticmethod(getattr(ops, spec.op + "_backward")),
    })
    cls = type(spec.name, (base,), attrs)
    cls.forward.__qualname__ = f"{spec.name}.forward"
    cls.__init__.__qualname__ = f"{spec.name}.__init__"
    if namespace is not None:
        namespace[spec.name] = cls
    return cls


def specs_from_registry(rows=None, **overrides) -> Tuple[ClassSpec, ...]:
    """One spec per registry row: the row's class name and parameters, ``spiking=True``."""
    rows = registry.SURROGATES if rows is None else rows
    return tuple(ClassSpec(e.cls, e.op, tuple((p.name, p.default) for p in e.params), **overrides)
                 for e in rows)
