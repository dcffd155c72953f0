"""Norse 1.1.0's feed-forward neurons on the neuron engine::

    import surrogate_ext.norse as norse              # for: import norse.torch as norse
    model = norse.SequentialState(torch.nn.Linear(784, 1000), norse.LIF(),
                                  torch.nn.Linear(1000, 10), norse.LIF())
    out, state = model(x_seq)                        # x_seq [T, batch, 784]

Each class of :data:`CLASSES` is one of Norse's modules on an engine family
(:mod:`surrogate_ext.core.neurons`): ``LIFCell`` and ``LIF`` on ``norse_lif`` (two states, v and
the synaptic current i), ``LIFBoxCell`` and ``LIFBox`` on ``norse_lif_box`` (v alone), ``LICell``
and ``LI`` on ``norse_li`` (the leaky integrator: no spikes, its output is v). The step's math is
the family's functor and its reference; none of it is written here. A cell's call is one fused
operator forward and one backward; a sequence module's call on [T, ...] is one fused forward over
the T steps and one BPTT backward.

The calling convention is Norse's: ``module(input_tensor, state=None) -> (output, state)``, the
state ``None`` meaning Norse's initial state (v = v_leak, i = 0). Parameters are Norse's types
(``LIFParameters``, ...) with their fields and defaults; a field may be a tensor (one value, or one
per neuron, an ``nn.Parameter`` to learn it). With Norse installed the types are Norse's own;
without it, ours (:data:`OWN_TYPES`); any object with the same fields is accepted. The spike function is Norse's ``threshold(x, method, alpha)``
as :mod:`.functional.threshold` computes it, fused into the neuron; ``method="super"`` follows
``native_thresholds(norse_superspike=...)`` (the paper's gradient by default).

How this differs from Norse 1.1.0 is listed in ``docs/norse.md``.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable, NamedTuple, Optional, Tuple

import torch
from torch import Tensor, nn

from ..core import peers as _peers
from ..core.neurons import BY_NAME, run_multistep, run_step
from .functional import threshold as _threshold


# --- Norse's types (norse.torch.functional.lif, lif_box, leaky_integrator, reset) ---------------

def reset_value(z: Tensor, v: Tensor, reset: Tensor, th: Tensor) -> Tensor:
    """Norse's ``reset_value``: (1 - z) v + z reset (LIFBox's default reset)."""
    return (1 - z) * v + z * reset


def reset_subtract(z: Tensor, v: Tensor, reset: Tensor, th: Tensor) -> Tensor:
    """Norse's ``reset_subtract``: (1 - z) v + z (v - th)."""
    return (1 - z) * v + z * (v - th)


class LIFParameters(NamedTuple):
    """Norse's ``LIFParameters``: inverse time constants in 1/s, potentials, the threshold's
    ``method`` and ``alpha``."""
    tau_syn_inv: Tensor = torch.as_tensor(1.0 / 5e-3)
    tau_mem_inv: Tensor = torch.as_tensor(1.0 / 1e-2)
    v_leak: Tensor = torch.as_tensor(0.0)
    v_th: Tensor = torch.as_tensor(1.0)
    v_reset: Tensor = torch.as_tensor(0.0)
    method: str = "super"
    alpha: float = torch.as_tensor(100.0)


class LIFBoxParameters(NamedTuple):
    """Norse's ``LIFBoxParameters`` (``reset_method``: :func:`reset_value` or
    :func:`reset_subtract`, Norse's or these)."""
    tau_mem_inv: Tensor = torch.as_tensor(1.0 / 1e-2)
    v_leak: Tensor = torch.as_tensor(0.0)
    v_th: Tensor = torch.as_tensor(1.0)
    v_reset: Tensor = torch.as_tensor(0.0)
    method: str = "super"
    alpha: float = torch.as_tensor(100.0)
    reset_method: Callable = reset_value


class LIParameters(NamedTuple):
    """Norse's ``LIParameters``."""
    tau_syn_inv: Tensor = torch.as_tensor(1.0 / 5e-3)
    tau_mem_inv: Tensor = torch.as_tensor(1.0 / 1e-2)
    v_leak: Tensor = torch.as_tensor(0.0)


class LIFFeedForwardState(NamedTuple):
    """Norse's ``LIFFeedForwardState``: membrane potential v, synaptic current i."""
    v: Tensor
    i: Tensor


class LIFBoxFeedForwardState(NamedTuple):
    """Norse's ``LIFBoxFeedForwardState``: membrane potential v."""
    v: Tensor


class LIState(NamedTuple):
    """Norse's ``LIState``: membrane potential v, input current i."""
    v: Tensor
    i: Tensor


OWN_TYPES = {t.__name__: t for t in (LIFParameters, LIFBoxParameters, LIParameters, LIFFeedForwardState,
                                      LIFBoxFeedForwardState, LIState)}
"""The types above: those of the package without Norse. With Norse installed the package's are
Norse's own (the same fields and defaults: the tests check it), so that code that tests a state's
type (Norse's ``Lift``, a user's ``isinstance``) sees Norse's."""
try:
    import norse.torch as _norse_torch
except ImportError:  # Norse is not installed: ours
    _norse_torch = None
else:
    LIFParameters, LIFBoxParameters, LIParameters = (
        _norse_torch.LIFParameters, _norse_torch.LIFBoxParameters, _norse_torch.LIParameters)
    LIFFeedForwardState, LIFBoxFeedForwardState, LIState = (
        _norse_torch.LIFFeedForwardState, _norse_torch.LIFBoxFeedForwardState, _norse_torch.LIState)


# --- The classes' table -------------------------------------------------------------------------

@dataclass(frozen=True)
class NeuronClass:
    """A Norse cell and its sequence module on an engine family. ``tensors``: the parameter
    fields the family takes as tensor arguments, in its schema order (dt comes last);
    the family's ``fires`` decides the output: the spike, or the membrane v (the leaky
    integrator's)."""
    cell: str
    sequence: str
    family: str
    parameters: type
    state: type
    tensors: Tuple[str, ...]
    as_tensor: bool = False  # Norse's class makes its fields tensors (torch.as_tensor)
    doc: str = ""

    @property
    def neuron(self):
        return BY_NAME[self.family]

    @property
    def fires(self) -> bool:
        return self.neuron.fires


CLASSES: Tuple[NeuronClass, ...] = (
    NeuronClass("LIFCell", "LIF", "norse_lif", LIFParameters, LIFFeedForwardState,
                ("tau_syn_inv", "tau_mem_inv", "v_leak", "v_th", "v_reset"), as_tensor=True,
                doc="Leaky integrate-and-fire with a synaptic current: i += input; "
                    "v += dt tau_mem_inv ((v_leak - v) + i); i -= dt tau_syn_inv i; "
                    "z = threshold(v - v_th, method, alpha); v = (1 - z) v + z v_reset."),
    NeuronClass("LIFBoxCell", "LIFBox", "norse_lif_box", LIFBoxParameters, LIFBoxFeedForwardState,
                ("tau_mem_inv", "v_leak", "v_th", "v_reset"),
                doc="Leaky integrate-and-fire without a current: "
                    "v += dt tau_mem_inv (input + v_leak - v); z = threshold(v - v_th, method, alpha); "
                    "v = reset_method(z, v, v_reset, v_th)."),
    NeuronClass("LICell", "LI", "norse_li", LIParameters, LIState,
                ("tau_syn_inv", "tau_mem_inv", "v_leak"),
                doc="Leaky integrator: i += input; v += dt tau_mem_inv ((v_leak - v) + i); "
                    "i -= dt tau_syn_inv i; the output is v."),
)


# --- The threshold fused into the neurons -------------------------------------------------------

_FUNCTIONS = {row.name: row for row in _threshold.FUNCTIONS}
_NO_GRADIENT = ("soft_sign", (1.0,), dict(strict=True, grad_scale=0.0))  # heaviside: x > 0, no gradient


def threshold_call(method, alpha, norse_superspike: bool = False):
    """(operator, parameters, keyword arguments) with which the fused neurons compute Norse's
    ``threshold(x, method, alpha)`` as :mod:`.functional.threshold` does: ``"heaviside"`` fires
    without a gradient; ``"super"`` at ``alpha`` (at 1, Norse 1.1.0's gradient as coded, with
    ``norse_superspike``). Norse's ValueError for an unknown method."""
    if not isinstance(method, str):
        raise TypeError(f"p.method must be a string, got {method!r}")
    if method == "heaviside":
        return _NO_GRADIENT
    name = _threshold.METHODS.get(method)
    if name is None:
        if method == "adjoint":
            raise ValueError("p.method 'adjoint' (Norse's adjoint LIF) is not supported by the fused "
                             "neurons; use one of " + ", ".join(_threshold.METHODS))
        raise ValueError(_threshold._UNKNOWN_METHOD.format(method))
    row = _FUNCTIONS[name]
    param = row.params[0]
    alpha = _peers.check_param(row.name, param.name, _peers.to_float(row.name, param.name, alpha),
                               param.positive, row.zero_ok(param.name))
    if norse_superspike and method == "super":
        alpha = 1.0
    op, params, grad_scale = row.call(alpha)
    return op, params, dict(strict=row.strict, grad_scale=grad_scale)


# --- The modules --------------------------------------------------------------------------------

def _check_dt(owner: str, dt) -> float:
    if isinstance(dt, bool) or not isinstance(dt, numbers.Real) or not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"{owner}: dt must be a finite number > 0, got {dt!r}")
    return float(dt)


class _NorseNeuron(nn.Module):
    """What the cells and the sequence modules share: Norse's ``p`` and ``dt``, the fused call."""
    _row: NeuronClass
    _sequence: bool

    def __init__(self, p=None, dt: float = 0.001, **kwargs):
        super().__init__()
        row = self._row
        p = row.parameters() if p is None else p
        missing = [f for f in row.parameters._fields if not hasattr(p, f)]
        if missing:
            raise TypeError(f"{type(self).__name__}: p must be a {row.parameters.__name__} (or Norse's), "
                            f"got {type(p).__name__} without {', '.join(missing)}")
        values = {f: getattr(p, f) for f in row.parameters._fields}
        for f in row.tensors:
            values[f] = _field(type(self).__name__, f, values[f], row.as_tensor)
        self.p = row.parameters(**values)
        self.dt = _check_dt(type(self).__name__, dt)
        self.record_states = bool(kwargs.pop("record_states", False)) if self._sequence else False
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(kwargs)}")
        self._native_cache = None
        if row.family == "norse_lif_box":
            _subtract_reset(self.p.reset_method)
        if row.fires:
            self._native()  # checks method and alpha at construction

    def extra_repr(self) -> str:
        return f"p={self.p}, dt={self.dt}"

    def _native(self):
        row = self._row
        if not row.fires:
            return _NO_GRADIENT
        superspike = _threshold.norse_superspike_active()
        alpha = self.p.alpha
        key = (self.p.method, alpha.item() if isinstance(alpha, Tensor) and alpha.numel() == 1 else alpha,
               superspike)
        if self._native_cache is None or self._native_cache[0] != key:
            self._native_cache = (key, threshold_call(self.p.method, alpha, superspike))
        return self._native_cache[1]

    def _args(self, x: Tensor) -> tuple:
        row = self._row
        args = []
        for f in row.tensors:
            t = torch.as_tensor(getattr(self.p, f))
            if t.device != x.device:
                t = t.to(x.device)
            args.append(t)
        if row.family == "norse_lif_box":
            args.append(_subtract_reset(self.p.reset_method))
        return tuple(args) + (self.dt,)

    def _initial(self, shape, x: Tensor) -> tuple:
        """Norse's initial state: v = v_leak, i = 0, float32 as Norse makes them, v a leaf that
        requires a gradient (Norse sets ``state.v.requires_grad = True``), so that an output
        requires one even when nothing else does: the cells' v is v_leak's shape, broadcast."""
        v_leak = torch.as_tensor(self.p.v_leak).detach()
        if self._sequence:
            v = torch.full(shape, float(v_leak) if v_leak.numel() == 1 else 0.0, device=x.device,
                           dtype=torch.float32)
            if v_leak.numel() != 1:
                v.copy_(v_leak.expand(shape))
        else:
            v = v_leak.to(device=x.device, dtype=torch.float32, copy=True)
        states = [v.requires_grad_(True)]
        if len(self._row.neuron.states) == 2:
            states.append(torch.zeros(shape, device=x.device, dtype=torch.float32))
        return tuple(states)

    def _states(self, state, shape, x: Tensor) -> tuple:
        row = self._row
        if state is None:
            values = self._initial(shape, x)
        else:
            fields = row.state._fields
            missing = [f for f in fields if not hasattr(state, f)]
            if missing:
                raise TypeError(f"{type(self).__name__}: state must be a {row.state.__name__} (or Norse's) "
                                f"or None, got {type(state).__name__}")
            values = tuple(torch.as_tensor(getattr(state, f)) for f in fields)
        out = []
        for f, s in zip(row.state._fields, values):
            try:
                s = s.to(dtype=x.dtype, device=x.device).expand(shape)
            except RuntimeError:
                raise ValueError(f"{type(self).__name__}: state.{f} must be broadcastable to the neurons' "
                                 f"shape {list(shape)}, got shape {list(s.shape)}") from None
            out.append(s)
        return tuple(out)

    def _input(self, input_tensor) -> Tensor:
        """The input as the kernels take it: a sparse one dense (Norse's sparse steps compute the
        same values), bool and integer ones float32 (as Norse's float32 states promote them)."""
        name = type(self).__name__
        if not isinstance(input_tensor, Tensor):
            raise TypeError(f"{name}: input_tensor must be a tensor, got {type(input_tensor).__name__}")
        x = input_tensor.to_dense() if input_tensor.is_sparse else input_tensor
        if x.is_complex():
            raise TypeError(f"{name}: input_tensor must be a real tensor, got {x.dtype}")
        if not x.is_floating_point():
            x = x.to(torch.float32)
        if self._sequence and x.dim() < 1:
            raise ValueError(f"{name}: input_tensor must have shape [T, ...], got a 0-d tensor")
        return x


def _field(owner: str, name: str, value, as_tensor: bool) -> Tensor:
    """A parameter field as a tensor argument: a tensor as it is; a number as Norse computes with
    it: a float32 tensor where Norse's class calls torch.as_tensor (LIFCell, LIF), otherwise a
    float64 one, which the kernels round as torch rounds a Python number against a tensor."""
    if isinstance(value, Tensor):
        if not (value.is_floating_point() or value.numel() == 1):
            raise TypeError(f"{owner}: p.{name} must be a floating-point tensor or a number, got {value.dtype}")
        return value if value.is_floating_point() else value.to(torch.get_default_dtype())
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: p.{name} must be a tensor or a real number, got {value!r}")
    return torch.as_tensor(float(value)) if as_tensor else torch.tensor(float(value), dtype=torch.float64)


def _subtract_reset(reset_method) -> bool:
    name = getattr(reset_method, "__name__", None)
    if name in ("reset_value", "reset_subtract") and callable(reset_method):
        return name == "reset_subtract"
    raise ValueError(f"p.reset_method must be Norse's reset_value or reset_subtract, got {reset_method!r}")


class _Cell(_NorseNeuron):
    _sequence = False

    def forward(self, input_tensor: Tensor, state=None):
        x = self._input(input_tensor)
        row = self._row
        states = self._states(state, x.shape, x)
        z, nexts = run_step(row.neuron, x, states, self._args(x), None, self._native())
        return _output(row, input_tensor, z, nexts[0]), row.state(*nexts)


class _Sequence(_NorseNeuron):
    _sequence = True

    def forward(self, input_tensor: Tensor, state=None):
        x = self._input(input_tensor)
        row = self._row
        states = self._states(state, x.shape[1:], x)
        keep = self.record_states or not row.fires
        z, seqs, lasts = run_multistep(row.neuron, x, states, self._args(x), None, self._native(),
                                       keep_sequences=keep)
        return _output(row, input_tensor, z, seqs[0] if keep else None), \
            row.state(*(seqs if self.record_states else lasts))


def _output(row: NeuronClass, input_tensor: Tensor, z: Tensor, v: Tensor) -> Tensor:
    """The spikes (sparse for a sparse input, as Norse's sparse steps return them), or v."""
    if not row.fires:
        return v
    return z.to_sparse() if input_tensor.is_sparse else z


def _make(row: NeuronClass, base: type, name: str, what: str) -> type:
    doc = (f"Norse's ``{name}(p={row.parameters.__name__}(), dt=0.001{', record_states=False' if base is _Sequence else ''})``"
           f" on the family ``{row.family}``, {what}. {row.doc} Returns ``(output, "
           f"{row.state.__name__})``.")
    return type(name, (base,), {"_row": row, "__doc__": doc, "__module__": "surrogate_ext.norse"})


for _row in CLASSES:
    globals()[_row.cell] = _make(_row, _Cell, _row.cell, "one step (one fused operator)")
    globals()[_row.sequence] = _make(_row, _Sequence, _row.sequence,
                                     "a whole [T, ...] sequence (one fused operator, one BPTT backward)")
del _row


# --- SequentialState ----------------------------------------------------------------------------

try:
    from norse.torch.module.sequential import SequentialState  # noqa: F401
except ImportError:  # Norse is not installed: the same contract, without its hooks
    class SequentialState(nn.Sequential):
        """Norse's ``SequentialState`` without Norse: modules whose ``forward`` takes a ``state``
        get theirs (None at first) and return ``(output, state)``; the others get the output alone.
        Returns ``(output, [state per module])``."""

        def __init__(self, *modules: nn.Module, return_hidden: bool = False):
            super().__init__(*modules)
            import inspect
            self.return_hidden = return_hidden
            self.stateful_layers = ["state" in inspect.signature(m.forward).parameters for m in modules]

        def forward(self, input_tensor: Tensor, state: Optional[list] = None):
            state = [None] * len(self) if state is None else state
            hidden = []
            for index, module in enumerate(self):
                if self.stateful_layers[index]:
                    input_tensor, state[index] = module(input_tensor, state[index])
                else:
                    input_tensor = module(input_tensor)
                if self.return_hidden:
                    hidden.append(input_tensor)
            return (hidden if self.return_hidden else input_tensor), state


__all__ = [r.cell for r in CLASSES] + [r.sequence for r in CLASSES] + [
    "LIFParameters", "LIFBoxParameters", "LIParameters", "LIFFeedForwardState",
    "LIFBoxFeedForwardState", "LIState", "SequentialState", "reset_value", "reset_subtract",
    "threshold_call", "CLASSES", "OWN_TYPES"]
