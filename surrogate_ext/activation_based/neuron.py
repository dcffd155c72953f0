"""A drop-in for SpikingJelly 2.0's neurons::

    from surrogate_ext.activation_based import surrogate, neuron   # for: from spikingjelly.activation_based import ...

SpikingJelly 2.0.0's neuron classes with its constructor signatures and defaults, each a family
of the neuron engine (:mod:`surrogate_ext.core.neurons`), generated from :data:`NODES`: one row
per class, naming its family, its signature, its checks and its states. Every class

* runs in ``step_mode`` ``'s'`` (one step per call, ``x`` shaped like the state) or ``'m'`` (``x_seq``
  [T, ...], all T steps in one call): one fused operator forward and one backward per call, on the
  CPU and on CUDA, when ``surrogate_function`` is native (one of surrogate_ext's surrogates, or
  SpikingJelly's class of the same name, read by its attributes); the family's reference step in a
  PyTorch loop otherwise (a surrogate function of your own);
* keeps its state across calls (``v``, and ``w``/``c``/``u`` for the two-state neurons, floats until
  the first call), ``reset()`` restores it, ``detach()`` cuts it from the graph;
  ``store_v_seq=True`` keeps ``v_seq`` (every step's ``v``; in single-step mode appended call
  after call, as SpikingJelly does);
* works with SpikingJelly's own ``functional.reset_net``, ``functional.set_step_mode``,
  ``functional.detach_net`` and its ``layer`` containers when SpikingJelly is installed (it calls
  ``reset``, sets ``step_mode``; SpikingJelly logs a warning that the class is not its
  ``MemoryModule``, once per call of its helper), and without SpikingJelly.

How this differs from SpikingJelly 2.0.0 is listed in ``docs/spikingjelly2.md``.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor, nn

from ..core import classes
from ..core.neurons import BY_NAME, native_call, run_multistep, run_step
from . import surrogate

STEP_MODES = ("s", "m")

# A default surrogate shared by the classes, as SpikingJelly's default argument is one instance.
_SIGMOID, _RECT, _COUNT = surrogate.Sigmoid(), surrogate.Rect(), surrogate.MultiLevelSpikeCount(4)


@dataclass(frozen=True)
class Param:
    """A constructor parameter: its name, its default (as source text), its annotation."""
    name: str
    default: str
    annotation: str = ""


@dataclass(frozen=True)
class Node:
    """One of SpikingJelly's neuron classes on an engine family.

    ``args`` gives the family's arguments that are not the attribute of the same name, as source
    text over the attributes (``self.<name>``); ``states`` the initial value of each of the
    family's states (source text over the attributes: a float); ``parameters`` the learnable
    tensors the class creates (name -> source text of the initial value, over the constructor's
    values); ``checks`` (condition, message) pairs over the constructor's values, each raising
    ValueError with its message when the condition is false."""
    name: str
    family: str
    params: Tuple[Param, ...]
    args: Tuple[Tuple[str, str], ...] = ()
    states: Tuple[str, ...] = ("self.v_reset if self.v_reset is not None else 0.",)
    parameters: Tuple[Tuple[str, str], ...] = ()
    checks: Tuple[Tuple[str, str], ...] = ()
    extra_repr: Tuple[str, ...] = ()  # attributes shown after SpikingJelly's common ones
    doc: str = ""

    @property
    def neuron(self):
        return BY_NAME[self.family]


def _common(v_reset="0.0", surrogate_default="_SIGMOID", detach=True, step=True, store=True,
            step_annotation=""):
    """SpikingJelly's BaseNode parameters: v_threshold, v_reset, surrogate_function, detach_reset,
    step_mode, store_v_seq (those the class takes)."""
    params = [Param("v_threshold", "1.0", "float")] if v_reset is not None else []
    if v_reset is not None:
        params.append(Param("v_reset", v_reset, "Optional[float]"))
    params.append(Param("surrogate_function", surrogate_default, "surrogate.SurrogateFunctionBase"))
    if detach:
        params.append(Param("detach_reset", "False", "bool"))
    if step:
        params.append(Param("step_mode", "'s'", step_annotation))
    if store:
        params.append(Param("store_v_seq", "False", "bool"))
    return tuple(params)


def _tau(name="tau", default="2.0"):
    return Param(name, default, "float")


TAU_ABOVE_ONE = ("tau > 1", "tau must be > 1")
QIF_RESET = (("v_reset is None or v_threshold > v_reset", "v_threshold must be > v_reset"),
             ("v_reset is None or v_rest >= v_reset", "v_rest must be >= v_reset"))

NODES: Tuple[Node, ...] = (
    Node("IFNode", "if", _common(), doc="Integrate-and-fire: H[t] = V[t-1] + X[t]."),
    Node("LIFNode", "lif", (_tau(), Param("decay_input", "True", "bool")) + _common(),
         args=(("factored_leak", "False"),), checks=(TAU_ABOVE_ONE,), extra_repr=("tau",),
         doc="Leaky integrate-and-fire: H[t] = V[t-1] + (X[t] - (V[t-1] - V_reset)) / tau with "
             "decay_input, else H[t] = V[t-1] - (V[t-1] - V_reset) / tau + X[t]."),
    Node("ParametricLIFNode", "plif", (_tau("init_tau"), Param("decay_input", "True", "bool")) + _common(),
         args=(("factored_leak", "False"),), parameters=(("w", "-math.log(init_tau - 1.0)"),),
         checks=(("init_tau > 1", "init_tau must be > 1"),),
         doc="Parametric LIF (Fang et al. 2021): the LIF charge with 1/tau = sigmoid(w), w learnable, "
             "initialised so that tau = init_tau."),
    Node("QIFNode", "qif", (_tau(), Param("v_c", "0.8", "float"), Param("a0", "1.0", "float"),
                            Param("v_threshold", "1.0", "float"), Param("v_rest", "0.0", "float"),
                            Param("v_reset", "-0.1", "Optional[float]"))
         + _common(v_reset=None),
         checks=(TAU_ABOVE_ONE, ("a0 > 0", "a0 must be > 0")) + QIF_RESET,
         extra_repr=("tau", "v_c", "a0", "v_rest"),
         doc="Quadratic integrate-and-fire: H[t] = V[t-1] + (X[t] + a0 (V[t-1] - V_rest)(V[t-1] - V_c)) / tau."),
    Node("EIFNode", "eif", (_tau(), Param("delta_T", "1.0", "float"), Param("theta_rh", "0.8", "float"),
                            Param("v_threshold", "1.0", "float"), Param("v_rest", "0.0", "float"),
                            Param("v_reset", "-0.1", "Optional[float]"))
         + _common(v_reset=None),
         checks=(TAU_ABOVE_ONE, ("delta_T > 0", "delta_T must be > 0")) + QIF_RESET,
         extra_repr=("tau", "delta_T", "theta_rh"),
         doc="Exponential integrate-and-fire: H[t] = V[t-1] + (X[t] + V_rest - V[t-1] + "
             "delta_T exp((V[t-1] - theta_rh) / delta_T)) / tau."),
    Node("IzhikevichNode", "izhikevich",
         (_tau(), Param("v_c", "0.8", "float"), Param("a0", "1.0", "float"),
          Param("v_threshold", "1.0", "float"), Param("v_reset", "0.0", "Optional[float]"),
          Param("v_rest", "-0.1", "float"), Param("w_rest", "0.0", "float"), _tau("tau_w"),
          Param("a", "0.0", "float"), Param("b", "0.0", "float")) + _common(v_reset=None),
         states=("self.v_reset if self.v_reset is not None else 0.", "self.w_rest"),
         checks=(TAU_ABOVE_ONE, ("a0 > 0", "a0 must be > 0")),
         extra_repr=("v_rest", "w_rest", "tau_w", "a", "b", "tau", "v_c", "a0"),
         doc="Izhikevich: H[t] = V[t-1] + (X[t] + a0 (V[t-1] - V_rest)(V[t-1] - V_c) - W[t-1]) / tau; "
             "W[t] = W[t-1] + (a (H[t] - V_rest) - W[t-1]) / tau_w + b S[t]."),
    Node("CUBALIFNode", "cuba_lif", (Param("c_decay", "0.5", "float"), Param("v_decay", "0.75", "float"),
                                     Param("v_threshold", "0.5", "float"),
                                     Param("v_reset", "0.0", "Optional[float]"))
         + _common(v_reset=None, surrogate_default="_RECT", detach=False, step=False, store=False),
         args=(("detach_reset", "False"),), states=("self.v_reset if self.v_reset is not None else 0.", "0."),
         doc="Current-based LIF: C[t] = C[t-1] c_decay + X[t]; H[t] = V[t-1] v_decay + C[t]."),
    Node("KLIFNode", "klif", (Param("scale_reset", "False", "bool"), _tau(),
                              Param("decay_input", "True", "bool")) + _common(),
         parameters=(("k", "1.0"),), checks=(TAU_ABOVE_ONE,),
         doc="KLIF (Jiang et al. 2023): H[t] = relu(k H0[t]), H0 the LIF charge, k learnable; "
             "scale_reset resets H[t] / k with threshold v_threshold / k."),
    Node("ILIFNode", "ilif", (_tau(default="1.3333333333333333"), Param("v_threshold", "1.0", "float"),
                              Param("surrogate_function", "_COUNT", "surrogate.MultiLevelSpikeCount"),
                              Param("detach_reset", "False", "bool"), Param("step_mode", "'s'", "str"),
                              Param("store_v_seq", "False", "bool")),
         args=(("factored_leak", "self.step_mode == 'm'"),), states=("0.",),
         checks=(("type(surrogate_function).__name__ == 'MultiLevelSpikeCount' and "
                  "getattr(surrogate_function, 'spiking', False)",
                  "surrogate_function must be a spiking MultiLevelSpikeCount."),),
         extra_repr=("tau",),
         doc="I-LIF (Luo et al. 2024): the LIF charge without input decay fired as a spike count "
             "(MultiLevelSpikeCount on H[t] / v_threshold), soft reset."),
    Node("HalfThresholdIFNode", "if", (Param("v_threshold", "1.0", "float"),) + _common(v_reset=None),
         args=(("v_reset", "None"),), states=("self.v_threshold / 2.0",),
         checks=(("v_threshold > 0", "v_threshold must be finite positive."),),
         doc="IF with a soft reset, starting (and reset) at v_threshold / 2."),
    Node("RAFNode", "raf", (Param("b", "-0.2", "float"), Param("omega", "1.0", "float"),
                            Param("dt", "1.0", "float")) + _common(step_annotation="str"),
         states=("self.v_reset if self.v_reset is not None else 0.", "0."),
         checks=(("b < 0", "b must be < 0"), ("omega > 0", "omega must be > 0"), ("dt > 0", "dt must be > 0")),
         extra_repr=("b", "omega", "dt"),
         doc="Resonate-and-fire (Izhikevich 2001): U[t] = alpha (U cos - V sin) + X[t], "
             "H[t] = alpha (U sin + V cos), alpha = exp(b dt), theta = omega dt."),
)
"""SpikingJelly 2.0.0's neuron classes, each on an engine family."""


def _real(name: str, value, allow_none: bool = False) -> Optional[float]:
    """A finite real number (a float for SpikingJelly, which asserts floats), or ValueError
    naming the argument."""
    if value is None and allow_none:
        return None
    if isinstance(value, Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real number{' or None' if allow_none else ''}, "
                         f"got {value!r}")
    return float(value)


class BaseNode(nn.Module):
    """What every generated neuron class shares: the state, the two step modes, the engine call.
    ``_node`` is the class's row of :data:`NODES`."""

    _node: Node

    def _init_node(self, values: Dict[str, object]) -> None:
        nn.Module.__init__(self)
        node, neuron = self._node, self._node.neuron
        for name, value in values.items():
            if name == "surrogate_function":
                if not callable(value):
                    raise ValueError(f"surrogate_function must be callable, got {value!r}")
            elif name in ("decay_input", "scale_reset", "detach_reset", "store_v_seq"):
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be a bool, got {value!r}")
            elif name == "step_mode":
                continue
            else:
                value = _real(name, value, allow_none=name == "v_reset")
            values[name] = value
        for condition, message in node.checks:
            if not eval(condition, {}, dict(values)):
                raise ValueError(f"{type(self).__name__}: {message}, got "
                                 + ", ".join(f"{k}={values[k]!r}" for k in values if k in condition))
        for name, value in values.items():
            if name != "step_mode":
                setattr(self, name, value)
        self.v_threshold = values.get("v_threshold", 1.0)
        self.detach_reset = values.get("detach_reset", False)
        for name, source in node.parameters:
            setattr(self, name, nn.Parameter(torch.as_tensor(eval(source, {"math": math}, values))))
        self.step_mode = values.get("step_mode", "s")
        self._store_v_seq = values.get("store_v_seq", False)
        self.v_seq = None
        self._state_names = neuron.states
        self.reset()

    # --- SpikingJelly's step-mode contract
    def supported_step_mode(self) -> Tuple[str, ...]:
        return STEP_MODES

    @property
    def step_mode(self) -> str:
        return self._step_mode

    @step_mode.setter
    def step_mode(self, value: str) -> None:
        if value not in STEP_MODES:
            raise ValueError(f'step_mode can only be {STEP_MODES}, but got "{value}"!')
        self._step_mode = value

    @property
    def store_v_seq(self) -> bool:
        return self._store_v_seq

    @store_v_seq.setter
    def store_v_seq(self, value: bool) -> None:
        self._store_v_seq = value
        self.v_seq = None

    # --- the state (_initial_states and _family_args are compiled from the row by _make_class)
    def _initial_states(self) -> Tuple[float, ...]:
        raise NotImplementedError

    def _family_args(self) -> tuple:
        raise NotImplementedError

    def reset(self) -> None:
        """Restores the initial state (floats, materialised at the next call) and drops v_seq."""
        for name, value in zip(self._state_names, self._initial_states()):
            setattr(self, name, value)
        self.v_seq = None

    def detach(self) -> None:
        """Cuts the state (and v_seq) from the autograd graph, for truncated BPTT."""
        for name in self._state_names:
            value = getattr(self, name)
            if isinstance(value, Tensor):
                setattr(self, name, value.detach())
        if isinstance(self.v_seq, Tensor):
            self.v_seq = self.v_seq.detach()

    def _states_for(self, x: Tensor) -> Tuple[Tensor, ...]:
        """The state as tensors shaped like x (SpikingJelly's materialize_states: a float fills
        x's shape; a tensor of another shape restarts from the initial value; another dtype or
        device is converted)."""
        states = []
        for name, initial in zip(self._state_names, self._initial_states()):
            s = getattr(self, name)
            if isinstance(s, Tensor) and s.shape != x.shape:
                s = initial
            if not isinstance(s, Tensor):
                s = torch.full_like(x, s)
            elif s.dtype != x.dtype or s.device != x.device:
                s = s.to(dtype=x.dtype, device=x.device)
            states.append(s)
        return tuple(states)

    # --- forward
    def forward(self, x: Tensor) -> Tensor:
        if self.step_mode == "s":
            return self.single_step_forward(x)
        return self.multi_step_forward(x)

    def single_step_forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise ValueError(f"x must be a tensor, got {x!r}")
        states = self._states_for(x)
        spike, states = run_step(self._node.neuron, x, states, self._family_args(),
                                 self.surrogate_function, native_call(self.surrogate_function))
        for name, value in zip(self._state_names, states):
            setattr(self, name, value)
        if self.store_v_seq:  # appended call after call, restarting on a new shape, dtype or device
            v = states[0].unsqueeze(0)
            same = isinstance(self.v_seq, Tensor) and self.v_seq.shape[1:] == v.shape[1:] and \
                self.v_seq.dtype == v.dtype and self.v_seq.device == v.device
            self.v_seq = torch.cat((self.v_seq, v)) if same else v.clone()
        return spike

    def multi_step_forward(self, x_seq: Tensor) -> Tensor:
        if not isinstance(x_seq, Tensor) or x_seq.dim() < 1:
            raise ValueError("x_seq must be a tensor of shape [T, ...], got "
                             + (f"shape {list(x_seq.shape)}" if isinstance(x_seq, Tensor) else repr(x_seq)))
        states = self._states_for(x_seq[0]) if x_seq.shape[0] else self._states_for(x_seq.new_empty(x_seq.shape[1:]))
        spike_seq, seqs, states = run_multistep(self._node.neuron, x_seq, states, self._family_args(),
                                                self.surrogate_function, native_call(self.surrogate_function),
                                                self.store_v_seq)
        for name, value in zip(self._state_names, states):
            setattr(self, name, value)
        self.v_seq = seqs[0] if self.store_v_seq else None
        return spike_seq

    def extra_repr(self) -> str:
        text = (f"v_threshold={self.v_threshold}, v_reset={getattr(self, 'v_reset', None)}, "
                f"detach_reset={self.detach_reset}, step_mode={self.step_mode}")
        return text + "".join(f", {name}={getattr(self, name)}" for name in self._node.extra_repr)


def _signature(node: Node) -> str:
    parts = ["self"]
    for p in node.params:
        parts.append(f"{p.name}: {p.annotation} = {p.default}" if p.annotation else f"{p.name}={p.default}")
    return ", ".join(parts)


def _make_class(node: Node) -> type:
    names = ", ".join(f"{p.name}={p.name}" for p in node.params)
    overrides = dict(node.args)
    args = ", ".join(overrides.get(name, f"self.{name}") for name in node.neuron.arg_names)
    source = (f"def __init__({_signature(node)}):\n"
              f"    BaseNode._init_node(self, dict({names}))\n"
              f"def _family_args(self):\n"
              f"    return ({args},)\n"
              f"def _initial_states(self):\n"
              f"    return ({', '.join(node.states)},)\n")
    namespace = {"BaseNode": BaseNode, "Optional": Optional, "surrogate": surrogate,
                 "_SIGMOID": _SIGMOID, "_RECT": _RECT, "_COUNT": _COUNT}
    init = classes.compile_function(source, "__init__", namespace)
    cls = type(node.name, (BaseNode,), {
        "__init__": init, "_family_args": namespace["_family_args"],
        "_initial_states": namespace["_initial_states"], "_node": node, "__module__": __name__,
        "__doc__": node.doc + f"\n\nThe engine's family ``{node.family}``."})
    init.__qualname__ = f"{node.name}.__init__"
    return cls


for _node in NODES:
    globals()[_node.name] = _make_class(_node)
del _node

__all__ = ["BaseNode", "NODES"] + [n.name for n in NODES]
