"""The Python table of neuron families, one row each, and the engine's entry points.

Each row names a family's operators (``torch.ops.surrogate_ext.<name>_multistep``, ``_step`` and
their backwards), its states, its arguments with their schema types and constraints, and its
float64 reference step (:mod:`surrogate_ext.core.neuron_reference`). The C++ table is
``SURROGATE_EXT_FOR_EACH_NEURON`` in ``csrc/include/surrogate_ext/neurons.h``;
``tests/core/test_neurons.py`` proves the two agree (names, schemas, the checks' messages).

:func:`run_multistep` and :func:`run_step` are what every namespace's neuron classes call: the
fused operators when the surrogate is native (one of ours, or a peer's class of the same name),
the reference step in a PyTorch loop otherwise (a user's own surrogate function or module).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

import torch
from torch import Tensor

from . import neuron_reference, registry
from .registry import FINITE, POSITIVE

SJ14, SJ2, SNNTORCH, NORSE = registry.SJ14, registry.SJ2, registry.SNNTORCH, registry.NORSE

FINITE_OR_NONE = (lambda v: v is None or math.isfinite(v), "finite or None")


@dataclass(frozen=True)
class Arg:
    """An argument of a family's operators: its schema type ("float", "float?", "int", "bool" or
    "Tensor") and, for numbers, the constraint its value must meet (registry's constraints)."""
    name: str
    type: str
    constraint: Optional[Tuple[Callable, str]] = None

    def check(self, op: str, value) -> None:
        """Raises the operator's own error for a bad value: TypeError for a wrong type,
        ValueError "<op>: <name> must be <constraint>, got <value>"."""
        if self.type == "Tensor":
            if not isinstance(value, Tensor):
                raise TypeError(f"{op}: {self.name} must be a tensor, got {value!r}")
            return
        if self.type == "bool":
            if not isinstance(value, (bool, numbers.Integral)):
                raise TypeError(f"{op}: {self.name} must be a bool, got {value!r}")
            return
        if value is None and self.type == "float?":
            return
        if self.type == "int":
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{op}: {self.name} must be an integer, got {value!r}")
            if self.constraint is not None and not self.constraint[0](value):
                raise ValueError(f"{op}: {self.name} must be {self.constraint[1]}, got {value}")
            return
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{op}: {self.name} must be a real number, got {value!r}")
        if self.constraint is not None and not self.constraint[0](value):
            raise ValueError(f"{op}: {self.name} must be {self.constraint[1]}, got "
                             f"{registry.format_value(float(value))}")


SPIKINGJELLY_RESET = (Arg("v_threshold", "float", FINITE), Arg("v_reset", "float?", FINITE_OR_NONE),
                      Arg("detach_reset", "bool"))
"""SpikingJelly's fire and reset arguments, the last of most families'."""

RESET_MECHANISMS = ("subtract", "zero", "none")
RESET_MECHANISM = (lambda v: 0 <= v <= 2, "0 (subtract), 1 (zero) or 2 (none)")
SNNTORCH_RESET = (Arg("threshold", "Tensor"), Arg("reset_mechanism", "int", RESET_MECHANISM))
"""snnTorch's threshold and reset_mechanism_val (0 subtract, 1 zero, 2 none: RESET_MECHANISMS),
after each snnTorch family's decay parameters."""


@dataclass(frozen=True)
class Neuron:
    name: str  # the operators' prefix, e.g. "lif"
    args: Tuple[Arg, ...]  # after the states, in schema order
    extra_states: Tuple[str, ...] = ()  # the states after v ("w",), ("syn_exc", "syn_inh"), ...
    origin: str = SJ2  # the library (and version) whose neuron the family mirrors
    example: tuple = ()  # valid argument values (a tensor argument's as a float), the peer's defaults
    example_surrogate: Tuple[str, Tuple[float, ...]] = ("atan", (2.0,))  # one it fires with
    fires: bool = True  # False: the family never fires (Norse's leaky integrator), its spike is 0

    def example_args(self, dtype=torch.float32) -> tuple:
        """The example's values, tensor arguments as 0-d tensors of ``dtype``."""
        return tuple(torch.tensor(v, dtype=dtype) if a.type == "Tensor" else v
                     for a, v in zip(self.args, self.example))

    @property
    def states(self) -> Tuple[str, ...]:
        return ("v",) + tuple(self.extra_states)

    @property
    def arg_names(self) -> Tuple[str, ...]:
        return tuple(a.name for a in self.args)

    @property
    def tensor_args(self) -> Tuple[str, ...]:
        """The tensor arguments: each gets a gradient from the backward operators."""
        return tuple(a.name for a in self.args if a.type == "Tensor")

    @property
    def schema_args(self) -> str:
        """The family's arguments as the C++ table writes them: ", float tau, bool ..."."""
        return "".join(f", {a.type} {a.name}" for a in self.args)

    @property
    def reference(self) -> Callable:
        """The reference step ``neuron_reference.<name>_step(x, states, *args, fire)``."""
        return getattr(neuron_reference, self.name + "_step")

    def op(self, kind: str):
        """The operator packet ``torch.ops.surrogate_ext.<name>_<kind>`` (multistep, step,
        multistep_backward, step_backward)."""
        return getattr(torch.ops.surrogate_ext, f"{self.name}_{kind}")

    def check(self, *values) -> None:
        """Validates the family's argument values as the operators do."""
        if len(values) != len(self.args):
            raise TypeError(f"{self.name}: takes arguments {self.arg_names}, got {values!r}")
        for a, v in zip(self.args, values):
            a.check(f"surrogate_ext::{self.name}", v)


def _tau(name="tau"):
    return Arg(name, "float", POSITIVE)


def _float(name):
    return Arg(name, "float", FINITE)


_NORSE_RATES = (Arg("tau_syn_inv", "Tensor"), Arg("tau_mem_inv", "Tensor"))
_NORSE_DT = Arg("dt", "float", POSITIVE)
_NORSE_SUPER = ("soft_sign", (100.0,))  # Norse's default threshold: super_fn at alpha = 100


# The rows, in the order of the C++ table (SURROGATE_EXT_FOR_EACH_NEURON).
NEURONS: Tuple[Neuron, ...] = (
    Neuron("if", SPIKINGJELLY_RESET, example=(1.0, 0.0, False)),
    Neuron("lif", (_tau(), Arg("decay_input", "bool"), Arg("factored_leak", "bool")) + SPIKINGJELLY_RESET,
           example=(2.0, True, False, 1.0, 0.0, False)),
    Neuron("plif", (Arg("w", "Tensor"), Arg("decay_input", "bool"), Arg("factored_leak", "bool"))
           + SPIKINGJELLY_RESET, example=(0.0, True, False, 1.0, 0.0, False)),
    Neuron("qif", (_tau(), _float("v_c"), _float("a0"), _float("v_rest")) + SPIKINGJELLY_RESET,
           example=(2.0, 0.8, 1.0, 0.0, 1.0, -0.1, False)),
    Neuron("eif", (_tau(), Arg("delta_T", "float", POSITIVE), _float("theta_rh"), _float("v_rest"))
           + SPIKINGJELLY_RESET, example=(2.0, 1.0, 0.8, 0.0, 1.0, -0.1, False)),
    Neuron("izhikevich", (_tau(), _float("v_c"), _float("a0"), _float("v_rest"), _tau("tau_w"),
                          _float("a"), _float("b")) + SPIKINGJELLY_RESET, extra_states=("w",),
           example=(2.0, 0.8, 1.0, -0.1, 2.0, 0.0, 0.0, 1.0, 0.0, False)),
    Neuron("cuba_lif", (_float("c_decay"), _float("v_decay")) + SPIKINGJELLY_RESET, extra_states=("c",),
           example=(0.5, 0.75, 0.5, 0.0, False)),
    Neuron("klif", (Arg("k", "Tensor"), _tau(), Arg("decay_input", "bool"), Arg("scale_reset", "bool"))
           + SPIKINGJELLY_RESET, example=(1.0, 2.0, True, False, 1.0, 0.0, False)),
    Neuron("ilif", (_tau(), Arg("factored_leak", "bool"), Arg("v_threshold", "float", POSITIVE),
                    Arg("detach_reset", "bool")), example=(4 / 3, True, 1.0, False),
           example_surrogate=("multi_level_spike_count", (4.0, 0.0, 4.0))),
    Neuron("raf", (_float("b"), _float("omega"), Arg("dt", "float", POSITIVE)) + SPIKINGJELLY_RESET,
           extra_states=("u",), example=(-0.2, 1.0, 1.0, 1.0, 0.0, False)),
    # snnTorch 1.0.0's neurons: v is its mem (the examples: its defaults, where it has them)
    Neuron("leaky", (Arg("beta", "Tensor"),) + SNNTORCH_RESET + (Arg("reset_delay", "bool"),),
           origin=SNNTORCH, example=(0.95, 1.0, 0, True)),
    Neuron("rleaky", (Arg("recurrent_input", "Tensor"), Arg("beta", "Tensor")) + SNNTORCH_RESET
           + (Arg("reset_delay", "bool"),), origin=SNNTORCH, example=(0.25, 0.95, 1.0, 0, True)),
    Neuron("synaptic", (Arg("alpha", "Tensor"), Arg("beta", "Tensor")) + SNNTORCH_RESET
           + (Arg("reset_delay", "bool"),), extra_states=("syn",), origin=SNNTORCH,
           example=(0.9, 0.8, 1.0, 0, True)),
    Neuron("rsynaptic", (Arg("recurrent_input", "Tensor"), Arg("alpha", "Tensor"), Arg("beta", "Tensor"))
           + SNNTORCH_RESET + (Arg("reset_delay", "bool"),), extra_states=("syn",), origin=SNNTORCH,
           example=(0.25, 0.9, 0.8, 1.0, 0, True)),
    Neuron("alpha", (Arg("alpha", "Tensor"), Arg("beta", "Tensor")) + SNNTORCH_RESET,
           extra_states=("syn_exc", "syn_inh"), origin=SNNTORCH, example=(0.9, 0.8, 1.0, 1)),
    Neuron("lapicque", (Arg("R", "Tensor"), Arg("C", "Tensor"), Arg("time_step", "Tensor")) + SNNTORCH_RESET,
           origin=SNNTORCH, example=(1.0, 2.0, 1.0, 1.0, 0)),
    # Norse 1.1.0's feed-forward neurons (the examples: its defaults, and its dt)
    Neuron("norse_lif", _NORSE_RATES + (Arg("v_leak", "Tensor"), Arg("v_th", "Tensor"),
                                        Arg("v_reset", "Tensor"), _NORSE_DT),
           extra_states=("i",), origin=NORSE, example=(200.0, 100.0, 0.0, 1.0, 0.0, 0.001),
           example_surrogate=_NORSE_SUPER),
    Neuron("norse_lif_box", (Arg("tau_mem_inv", "Tensor"), Arg("v_leak", "Tensor"), Arg("v_th", "Tensor"),
                             Arg("v_reset", "Tensor"), Arg("subtract_reset", "bool"), _NORSE_DT),
           origin=NORSE, example=(100.0, 0.0, 1.0, 0.0, False, 0.001), example_surrogate=_NORSE_SUPER),
    Neuron("norse_li", _NORSE_RATES + (Arg("v_leak", "Tensor"), _NORSE_DT), extra_states=("i",),
           origin=NORSE, fires=False, example=(200.0, 100.0, 0.0, 0.001), example_surrogate=_NORSE_SUPER),
)

BY_NAME = {n.name: n for n in NEURONS}


def neuron_argument_split(neuron: Neuron, rest: tuple, sequences: bool = False):
    """An operator's positional arguments after x (the backward's: after x, with the state
    sequences after the states when ``sequences``): (states, family arguments, surrogate,
    surrogate_params)."""
    k = len(neuron.states)
    init = tuple(rest[:k])
    rest = rest[2 * k:] if sequences else rest[k:]
    n = len(neuron.args)
    return init, tuple(rest[:n]), rest[n], rest[n + 1]


# --- The surrogate a neuron fires with -----------------------------------------------------------

def native_call(surrogate_function) -> Optional[Tuple[str, Tuple, dict]]:
    """(operator name, parameters, keyword arguments strict and grad_scale) with which the fused
    operators compute ``surrogate_function``: for one of surrogate_ext's surrogates, or a module of
    the same class name as a top-level one with the same parameter attributes (SpikingJelly's
    surrogates, read by class name). None for anything else (a user's function, a stochastic
    surrogate, one in primitive mode): those take the reference path."""
    try:
        return native_surrogate(surrogate_function)
    except ValueError:
        return None


def native_surrogate(surrogate_function) -> Tuple[str, Tuple, dict]:
    """As :func:`native_call`, but raises ValueError, saying why, where that returns None."""
    from ..clock_driven import surrogate as top  # the classes SpikingJelly's are read as
    from .classes import _Surrogate
    native = getattr(surrogate_function, "native_call", None)
    if isinstance(surrogate_function, _Surrogate) and native is not None:
        op, params, kwargs = native()
        spec = surrogate_function._spec
    else:
        cls = getattr(top, type(surrogate_function).__name__, None)
        if not (isinstance(cls, type) and issubclass(cls, _Surrogate)) or cls._spec.name != cls.__name__:
            raise ValueError(
                "the fused neurons need surrogate_function to be one of surrogate_ext's surrogates "
                f"(or SpikingJelly's class of the same name), got {type(surrogate_function).__name__}")
        try:
            values = cls._op_params(surrogate_function)  # reads the attributes
        except AttributeError:
            raise ValueError(f"the fused neurons need surrogate_function to be one of "
                             f"surrogate_ext's surrogates (or SpikingJelly's class of the same name); "
                             f"{type(surrogate_function).__name__} has not the attributes of ours") from None
        spec = cls._spec
        op = spec.entry.op
        params = spec.entry.check(*values)
        kwargs = dict(strict=spec.strict, grad_scale=float(cls._grad_scale(surrogate_function)))
    if spec.stochastic:
        raise ValueError(f"the fused neurons need a deterministic forward; "
                         f"{type(surrogate_function).__name__} fires at random")
    if not getattr(surrogate_function, "spiking", True):
        raise ValueError("the fused neurons need surrogate_function in spiking mode (spiking=True)")
    return op, tuple(params), kwargs


# --- The engine's entry points ------------------------------------------------------------------

def run_multistep(neuron: Neuron, x_seq: Tensor, states: Tuple[Tensor, ...], args: tuple,
                  surrogate_function, native: Optional[Tuple[str, Tuple, dict]] = None,
                  keep_sequences: bool = True):
    """T steps of ``neuron`` on ``x_seq`` [T, ...] from ``states`` (each shaped like x_seq[0]):
    ``(spike_seq, state_seqs, last_states)``; ``state_seqs`` is None without
    ``keep_sequences``. ``native`` is :func:`native_call`'s result for the surrogate (the fused
    operators), or None (the reference step in a loop)."""
    if native is not None:
        op, params, kwargs = native
        out = neuron.op("multistep")(x_seq, *states, *args, op, [float(p) for p in params], **kwargs)
        seqs = tuple(out[1::2]) if keep_sequences else None
        return out[0], seqs, tuple(out[2::2])
    return neuron_reference.multistep(neuron.reference, x_seq, tuple(states), args,
                                      surrogate_function, keep_sequences)


def run_step(neuron: Neuron, x: Tensor, states: Tuple[Tensor, ...], args: tuple,
             surrogate_function, native: Optional[Tuple[str, Tuple, dict]] = None):
    """One step of ``neuron``: ``(spike, next_states)``, fused or by the reference step (as
    :func:`run_multistep`)."""
    if native is not None:
        op, params, kwargs = native
        out = neuron.op("step")(x, *states, *args, op, [float(p) for p in params], **kwargs)
        return out[0], tuple(out[1:])
    return neuron.reference(x, tuple(states), *args, fire=surrogate_function)
