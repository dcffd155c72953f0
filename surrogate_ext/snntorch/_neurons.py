"""snnTorch 1.0.0's neuron classes on the neuron engine::

    import surrogate_ext.snntorch as snn      # for: import snntorch as snn
    lif = snn.Leaky(beta=0.9)
    spk, mem = lif(cur, mem)                   # one fused operator forward, one backward
    spk_seq, mem_seq = lif.sequence(cur_seq)   # all T steps of cur_seq [T, ...] in one operator

Each class of :data:`CLASSES` (``Leaky``, ``Synaptic``, ``Alpha``, ``Lapicque``, ``RLeaky``,
``RSynaptic``) has snnTorch's constructor signature and defaults, its buffers and parameters (the
same names, in the same order, so that its ``state_dict`` loads either way), its states and their
conventions (the membrane carried before its reset, the reset of a step decided by the state before
it; ``init_hidden`` and ``output``; ``reset_delay``), and is an engine family
(:mod:`surrogate_ext.core.neurons`): the step's math is the family's functor and its reference, none
of it is written here. A call runs one step, fused, when ``spike_grad`` is native (one of
:mod:`surrogate_ext.snntorch.surrogate`'s, or any of surrogate_ext's surrogates); any other
callable takes the family's reference step, which calls it as snnTorch does. ``RLeaky`` and
``RSynaptic`` keep their recurrent layer a torch module and give its output to the engine.

When snnTorch is installed the classes are also subclasses of its classes of the same name, so that
its helpers that test ``isinstance`` (``snntorch.utils.reset``, ``backprop``, the NIR export) and
its ``reset_hidden``/``detach_hidden`` class methods reach them; they work without it.

How this differs from snnTorch 1.0.0 is listed in ``docs/snntorch.md``.
"""
from __future__ import annotations

import importlib.util
import weakref
from dataclasses import dataclass
from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from ..core import classes
from ..core.neurons import BY_NAME, RESET_MECHANISMS, native_call, run_multistep, run_step
from . import surrogate

RESET_DICT = {name: i for i, name in enumerate(RESET_MECHANISMS)}  # snnTorch's reset_dict


@dataclass(frozen=True)
class NeuronClass:
    """One of snnTorch's neuron classes on an engine family.

    ``signature``: the constructor's parameters as source text (snnTorch's, in its order);
    ``states``: the states as snnTorch names them, in the order its ``forward`` takes and returns
    them (the engine's are the family's v, its mem, then the family's extra states, named alike);
    ``decays``: the decay factors the class registers after the threshold (``beta``; ``alpha`` and
    ``beta``), each learnable by ``learn_<name>``; ``recurrent``: the class keeps the last spike
    as the state ``spk`` and feeds it through its recurrent layer (the family's
    ``recurrent_input``)."""
    name: str
    family: str
    signature: str
    states: Tuple[str, ...]
    init: str  # snnTorch's init_<name>()
    decays: Tuple[str, ...] = ("beta",)
    recurrent: bool = False
    doc: str = ""

    @property
    def neuron(self):
        return BY_NAME[self.family]


_SPIKING = ("threshold=1.0, spike_grad=None, surrogate_disable=False, init_hidden=False, "
            "inhibition=False")
_RECURRENT = "V=1.0, all_to_all=True, linear_features=None, conv2d_channels=None, kernel_size=None"

CLASSES: Tuple[NeuronClass, ...] = (
    NeuronClass("Leaky", "leaky",
                f"beta, {_SPIKING}, learn_beta=False, learn_threshold=False, reset_mechanism='subtract', "
                "state_quant=False, output=False, graded_spikes_factor=1.0, "
                "learn_graded_spikes_factor=False, reset_delay=True",
                ("mem",), "init_leaky",
                doc="First-order leaky integrate-and-fire: mem[t] = beta mem[t-1] + input[t] - "
                    "reset[t] threshold."),
    NeuronClass("Synaptic", "synaptic",
                f"alpha, beta, {_SPIKING}, learn_alpha=False, learn_beta=False, learn_threshold=False, "
                "reset_mechanism='subtract', state_quant=False, output=False, reset_delay=True",
                ("syn", "mem"), "init_synaptic", decays=("alpha", "beta"),
                doc="Second-order integrate-and-fire with a synaptic current: syn[t] = alpha syn[t-1] + "
                    "input[t]; mem[t] = beta mem[t-1] + syn[t] - reset[t] threshold."),
    NeuronClass("Alpha", "alpha",
                f"alpha, beta, {_SPIKING}, learn_alpha=False, learn_beta=False, learn_threshold=False, "
                "reset_mechanism='zero', state_quant=False, output=False",
                ("syn_exc", "syn_inh", "mem"), "init_alpha", decays=("alpha", "beta"),
                doc="Alpha neuron: excitatory and inhibitory currents decaying by alpha and beta; "
                    "mem = tau_alpha (syn_exc + syn_inh)."),
    NeuronClass("Lapicque", "lapicque",
                f"beta=False, R=False, C=False, time_step=1, {_SPIKING}, learn_beta=False, "
                "learn_threshold=False, reset_mechanism='subtract', state_quant=False, output=False",
                ("mem",), "init_lapicque",
                doc="Lapicque's RC neuron: mem[t] = input[t] R time_step / (R C) + "
                    "(1 - time_step / (R C)) mem[t-1] - reset[t] threshold."),
    NeuronClass("RLeaky", "rleaky",
                f"beta, {_RECURRENT}, {_SPIKING}, learn_beta=False, learn_threshold=False, "
                "learn_recurrent=True, reset_mechanism='subtract', state_quant=False, output=False, "
                "reset_delay=True",
                ("spk", "mem"), "init_rleaky", recurrent=True,
                doc="Leaky with a recurrent connection: the last spike through the recurrent layer "
                    "(linear, convolution or one-to-one V) adds to the input."),
    NeuronClass("RSynaptic", "rsynaptic",
                f"alpha, beta, {_RECURRENT}, {_SPIKING}, learn_alpha=False, learn_beta=False, "
                "learn_threshold=False, learn_recurrent=True, reset_mechanism='subtract', "
                "state_quant=False, output=False, reset_delay=True",
                ("spk", "syn", "mem"), "init_rsynaptic", decays=("alpha", "beta"), recurrent=True,
                doc="Synaptic with a recurrent connection: the last spike through the recurrent "
                    "layer adds to the synaptic current."),
)
"""snnTorch 1.0.0's neuron classes, each on an engine family."""


def _snntorch_class(name: str):
    """snnTorch's class of that name when snnTorch is installed, else None."""
    if importlib.util.find_spec("snntorch") is None:
        return None
    try:
        import snntorch
    except ImportError:
        return None
    return getattr(snntorch, name, None)


def _as_tensor(value) -> Tensor:
    return value if isinstance(value, Tensor) else torch.as_tensor(value)


def _floating(t: Tensor) -> Tensor:
    """snnTorch's integer buffers (Lapicque's R and time_step default to int64 tensors) as the
    float tensors torch's type promotion makes of them in its step."""
    return t if t.is_floating_point() else t.to(torch.get_default_dtype())


def _is_one(t: Tensor) -> bool:
    """A fixed 1: one value, no gradient wanted, equal to 1."""
    return t.numel() == 1 and not t.requires_grad and t.item() == 1.0


def _surrogate_bypass(input_: Tensor) -> Tensor:
    """snnTorch's surrogate_disable spike function, (input_ > 0).float(): no gradient."""
    return (input_ > 0).float()


# surrogate_disable: the strict fire with no gradient, on the engine (its grad_scale is 0)
_DISABLED = ("atan", (2.0,), dict(strict=True, grad_scale=0.0))


class SpikingNeuron(nn.Module):
    """What every generated neuron class shares: snnTorch's buffers and their setters, its state
    conventions, the engine call. ``_row`` is the class's row of :data:`CLASSES`."""

    _row: NeuronClass
    _instances = weakref.WeakSet()  # for reset_hidden / detach_hidden
    reset_dict = RESET_DICT

    # --- construction (snnTorch's SpikingNeuron, LIF and the class's own, in their order)
    def _init_neuron(self, values: dict) -> None:
        nn.Module.__init__(self)
        row = self._row
        if values["surrogate_disable"]:
            self.spike_grad = _surrogate_bypass
        elif values["spike_grad"] is None:
            self.spike_grad = surrogate.atan()
        else:
            self.spike_grad = values["spike_grad"]
        for name, what in (("inhibition", "fires only the largest membrane of each sample"),
                           ("state_quant", "quantizes the states")):
            if values[name] is not False and values[name] is not None:
                raise ValueError(f"{row.name}: {name} is not supported by surrogate_ext's neurons (it "
                                 f"{what}); use snntorch.{row.name} for it, got {name}={values[name]!r}")
        self.init_hidden = values["init_hidden"]
        self.inhibition = values["inhibition"]
        self.output = values["output"]
        self.surrogate_disable = values["surrogate_disable"]
        self.state_quant = values["state_quant"]
        self._reset_cases(values["reset_mechanism"])
        self._register(_as_tensor(values["threshold"]), "threshold", values["learn_threshold"])
        self._register(_as_tensor(values.get("graded_spikes_factor", 1.0)), "graded_spikes_factor",
                       values.get("learn_graded_spikes_factor", False))
        self.register_buffer("reset_mechanism_val", torch.as_tensor(RESET_DICT[values["reset_mechanism"]]))
        self._reset_mechanism = values["reset_mechanism"]
        if row.family == "lapicque":
            self._init_lapicque(values)
        else:
            self._register(_as_tensor(values["beta"]), "beta", values["learn_beta"])
            if row.decays == ("alpha", "beta"):
                self._register(_as_tensor(values["alpha"]), "alpha", values["learn_alpha"])
        if row.family == "alpha":
            self._init_alpha(values)
        if row.recurrent:
            self._init_recurrent(values)
        for name in row.states:
            self.register_buffer(name, torch.zeros(0), False)
        self.reset_delay = values.get("reset_delay", True)
        self.__dict__["_checked"] = {}  # _unchanged()'s memory
        SpikingNeuron._instances.add(self)
        peer = _snntorch_class("SpikingNeuron")
        if peer is not None and isinstance(self, peer):
            peer.instances.append(self)  # what snnTorch's reset_hidden/detach_hidden walk

    def _register(self, value: Tensor, name: str, learn: bool) -> None:
        if learn:
            setattr(self, name, nn.Parameter(value))
        else:
            self.register_buffer(name, value)

    @staticmethod
    def _reset_cases(reset_mechanism) -> None:
        if reset_mechanism not in RESET_DICT:
            raise ValueError("reset_mechanism must be set to either 'subtract', 'zero', or 'none'.")

    def _init_alpha(self, values: dict) -> None:
        """snnTorch's Alpha: alpha stored clamped to [0, 1] (a learnable alpha is clamped in the
        step instead: snnTorch's own raises TypeError), and its checks."""
        if not values["learn_alpha"]:
            self.alpha = self.alpha.clamp(0, 1)
        if (self.alpha <= self.beta).any():
            raise ValueError("alpha must be greater than beta.")
        if (self.beta == 1).any():
            raise ValueError("beta cannot be '1' otherwise ZeroDivisionError occurs: "
                             "tau_alpha = log(alpha)/log(beta) - log(alpha) + 1")

    def _init_lapicque(self, values: dict) -> None:
        """snnTorch's Lapicque: beta, or R and C (two of the three), with its derived buffers
        (``_derived``: which of R and C comes from beta, time_step / (other log(1 / beta)))."""
        beta, R, C, time_step = values["beta"], values["R"], values["C"], values["time_step"]
        self._register(_as_tensor(beta), "beta", values["learn_beta"])
        self.register_buffer("time_step", _as_tensor(time_step))
        self._derived = None
        if (not self.beta and not (R and C)) or (not self.beta and (bool(R) ^ bool(C))):
            raise ValueError("Either beta or 2 of beta, R and C must be specified as an input argument.")
        if (R and C) and not self.beta:
            self.register_buffer("beta", torch.exp(torch.ones(1) * (-self.time_step / (R * C))))
            self.register_buffer("R", _as_tensor(R))
            self.register_buffer("C", _as_tensor(C))
        elif self.beta and not (R or C):
            self._derived = "C"
            self.register_buffer("R", torch.as_tensor(1))
            self.register_buffer("C", self._from_beta(self.R))
        elif self.beta and R and not C:
            self._derived = "C"
            self.register_buffer("C", self._from_beta(R))
            self.register_buffer("R", _as_tensor(R))
        elif self.beta and C and not R:
            self._derived = "R"
            self.register_buffer("C", _as_tensor(C))
            self.register_buffer("R", self._from_beta(self.C))

    def _from_beta(self, other, graph: bool = False) -> Tensor:
        """snnTorch's R or C derived from beta and the other: time_step / (other log(1 / beta))
        (detached unless graph)."""
        value = self.time_step / (other * torch.log(1 / self.beta))
        return value if graph else value.detach()

    def _lapicque(self, name: str) -> Tensor:
        """Lapicque's R or C as its step uses it: the buffer, or, for the one snnTorch derives from
        beta, time_step / (other log(1 / beta)) from the current beta when beta is learnt (snnTorch
        computes it once, with beta's graph: its second backward raises)."""
        if name == self._derived and self.beta.requires_grad:
            return self._from_beta(self.R if name == "C" else self.C, graph=True)
        return self._unchanged(name, _floating)

    def _init_recurrent(self, values: dict) -> None:
        """snnTorch's recurrent layer: a Linear over linear_features, a Conv2d over conv2d_channels
        with kernel_size (padding kernel_size // 2), or one-to-one weights V (all_to_all=False)."""
        all_to_all, features = values["all_to_all"], values["linear_features"]
        channels, kernel_size = values["conv2d_channels"], values["kernel_size"]
        self.all_to_all, self.learn_recurrent = all_to_all, values["learn_recurrent"]
        self.linear_features, self.kernel_size, self.conv2d_channels = features, kernel_size, channels
        name = self._row.name
        if all_to_all:
            if not features and not (channels or kernel_size):
                raise TypeError(f"When `all_to_all=True`, {name} requires either `linear_features` or "
                                "(`conv2d_channels` and `kernel_size`) to be specified. The shape should "
                                "match the shape of the output spike of the layer.")
            if not features and bool(channels) ^ bool(kernel_size):
                raise TypeError("`conv2d_channels` and `kernel_size` must both be specified. The shape of "
                                "`conv2d_channels` should match the shape of the output spikes.")
            if features and (kernel_size or channels):
                raise TypeError("`linear_features` cannot be specified at the same time as "
                                "`conv2d_channels` or `kernel_size`. A linear layer and conv2d layer "
                                "cannot both be specified at the same time.")
            if features:
                self.recurrent = nn.Linear(features, features)
            else:
                k = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
                self.padding = k[0] // 2, k[1] // 2
                self.recurrent = nn.Conv2d(channels, channels, kernel_size=kernel_size, padding=self.padding)
        else:
            if features or channels or kernel_size:
                raise TypeError("When `all_to_all`=False, none of `linear_features`, `conv2d_channels`, "
                                "or `kernel_size` should be specified. The weight `V` is used instead.")
            self._register(_as_tensor(values["V"]), "V", values["learn_recurrent"])
            self.recurrent = RecurrentOneToOne(self.V)
        if not values["learn_recurrent"]:
            for p in self.recurrent.parameters():
                p.requires_grad = False

    @property
    def reset_mechanism(self) -> str:
        """'subtract', 'zero' or 'none'; setting it updates reset_mechanism_val, as snnTorch's."""
        return self._reset_mechanism

    @reset_mechanism.setter
    def reset_mechanism(self, value: str) -> None:
        self._reset_cases(value)
        self.reset_mechanism_val = torch.as_tensor(RESET_DICT[value])
        self._reset_mechanism = value

    # --- the states
    def reset_mem(self):
        """Zeros every state (keeping its shape, dtype and device) and returns them, as snnTorch's
        reset_mem() and init_<name>()."""
        for name in self._row.states:
            setattr(self, name, torch.zeros_like(getattr(self, name)))
        out = tuple(getattr(self, name) for name in self._row.states)
        return out[0] if len(out) == 1 else out

    @classmethod
    def reset_hidden(cls) -> None:
        """Zeros the states of every neuron of this class (snnTorch's class method)."""
        for m in list(SpikingNeuron._instances):
            if isinstance(m, cls):
                for name in m._row.states:
                    setattr(m, name, torch.zeros_like(getattr(m, name)))

    @classmethod
    def detach_hidden(cls) -> None:
        """Detaches the states of every neuron of this class from the graph, in place."""
        for m in list(SpikingNeuron._instances):
            if isinstance(m, cls):
                for name in m._row.states:
                    getattr(m, name).detach_()

    @staticmethod
    def detach(*args) -> None:
        for state in args:
            state.detach_()

    def _native(self):
        """native_call()'s result for spike_grad (None: the reference step), worked out again only
        when spike_grad is another object or one of its parameters changed (native_call checks
        them: a tenth of a step's Python otherwise)."""
        sg = self.spike_grad
        if sg is _surrogate_bypass:
            return _DISABLED
        key = (sg, sg._op_params(), sg.spiking) if isinstance(sg, classes._Surrogate) else None
        cached = self.__dict__.get("_native_cache")
        if key is None or cached is None or cached[0] != key:
            cached = self.__dict__["_native_cache"] = (key, native_call(sg))
        return cached[1]

    def _unchanged(self, name: str, fn):
        """fn(the buffer or parameter `name`), computed again only when the attribute is another
        tensor, was written in place (its version counter: load_state_dict copies in place) or
        changed requires_grad: what a call would otherwise recompute with a torch op of its own.
        Under torch.compile, fn(the tensor), traced (a graph does not branch on the memory)."""
        t = self._buffers.get(name)
        if t is None:
            t = self._parameters[name]
        if torch.compiler.is_compiling():
            return fn(t)
        key = (t._version, t.requires_grad)
        seen = self._checked.get(name)
        if seen is None or seen[0] is not t or seen[1] != key:
            seen = self._checked[name] = (t, key, fn(t))
        return seen[2]

    def _graded(self, spk: Tensor) -> Tensor:
        """spk times graded_spikes_factor, unless the factor is a fixed 1 (under torch.compile
        always the product, with no branch on the factor's value: spk * 1 is spk)."""
        if torch.compiler.is_compiling():
            return spk * self.graded_spikes_factor
        if self._unchanged("graded_spikes_factor", _is_one):
            return spk
        return spk * self.graded_spikes_factor

    @staticmethod
    def _engine_states(input_: Tensor, states: Tuple[Tensor, ...]):
        """(input_, states) for the engine: a state of another shape is snnTorch's
        zeros_like(input_); where the dtypes differ, all in the promoted one, as snnTorch's
        arithmetic computes."""
        states = tuple(s if s.shape == input_.shape else torch.zeros_like(input_, device=s.device)
                       for s in states)
        if any(s.dtype != input_.dtype for s in states):
            dtype = input_.dtype
            for s in states:
                dtype = torch.promote_types(dtype, s.dtype)
            input_, states = input_.to(dtype), tuple(s.to(dtype) for s in states)
        return input_, states

    def _family_args(self, recurrent_input: Optional[Tensor]) -> tuple:
        raise NotImplementedError  # compiled from the row by _make_class

    # the engine's states from snnTorch's, and back (compiled from the row by _make_class)
    def _engine_order(self, states: tuple) -> tuple:
        raise NotImplementedError

    def _peer_order(self, states: tuple) -> tuple:
        raise NotImplementedError

    def _step(self, input_: Tensor):
        """One step from the stored states: (spk, the next states in snnTorch's order), which it
        stores. (The states are buffers, read and written in _buffers: nn.Module's attribute
        machinery costs more than the rest of a step's Python.)"""
        row, buffers = self._row, self._buffers
        peer_states = tuple(buffers[name] for name in row.states)
        rec = None
        if row.recurrent:
            spk, *peer_states = peer_states
            if spk.shape != input_.shape:
                spk = torch.zeros_like(input_, device=spk.device)
            rec = self.recurrent(spk)
        input_, states = self._engine_states(input_, self._engine_order(tuple(peer_states)))
        spk, states = run_step(row.neuron, input_, states, self._family_args(rec), self.spike_grad,
                               self._native())
        spk = self._graded(spk)
        out = ((spk,) if row.recurrent else ()) + self._peer_order(states)
        for name, value in zip(row.states, out):
            buffers[name] = value
        return spk, out

    def _run(self, input_: Tensor, given: tuple):
        """forward(): the given states replace the stored ones, then one step."""
        if any(s is not None for s in given):
            if self.init_hidden:
                raise TypeError(f"When `init_hidden=True`, {self._row.name} expects 1 input argument "
                                f"(no {', '.join(self._row.states)}).")
            for name, s in zip(self._row.states, given):
                if isinstance(s, Tensor):
                    self._buffers[name] = s
                elif s is not None:
                    setattr(self, name, s)  # nn.Module's TypeError
        spk, states = self._step(input_)
        return self._outputs(spk, states)

    def _outputs(self, spk, states):
        if self._row.recurrent:
            states = states[1:]
        if self.output or not self.init_hidden:
            return (spk,) + tuple(states)
        return spk

    def sequence(self, input_seq: Tensor, *states: Optional[Tensor]):
        """All T steps of ``input_seq`` [T, ...], in one fused operator forward and one backward:
        what ``forward`` returns at each step, stacked along a new first dimension (the spikes and
        every state of every step), from the given states (or the stored ones, as ``forward``); the
        states after the last step are stored. Equal to calling ``forward`` T times, bit for bit.
        The recurrent classes, whose next input needs the last spike, loop over the steps."""
        row = self._row
        if not isinstance(input_seq, Tensor) or input_seq.dim() < 1:
            raise ValueError(f"{row.name}.sequence: input_seq must be a tensor of shape [T, ...], got "
                             + (f"shape {list(input_seq.shape)}" if isinstance(input_seq, Tensor)
                                else repr(input_seq)))
        if len(states) > len(row.states):
            raise TypeError(f"{row.name}.sequence takes input_seq and at most {', '.join(row.states)}")
        given = states + (None,) * (len(row.states) - len(states))
        if row.recurrent or input_seq.shape[0] == 0:
            steps = [self._run(x, given if t == 0 else (None,) * len(given)) for t, x in enumerate(input_seq)]
            if not steps:
                raise ValueError(f"{row.name}.sequence: input_seq has no steps")
            if isinstance(steps[0], Tensor):
                return torch.stack(steps)
            return tuple(torch.stack(parts) for parts in zip(*steps))
        if any(s is not None for s in given):
            if self.init_hidden:
                raise TypeError(f"When `init_hidden=True`, {row.name} expects 1 input argument "
                                f"(no {', '.join(row.states)}).")
            for name, s in zip(row.states, given):
                if s is not None:
                    setattr(self, name, s)
        x, init = self._engine_states(input_seq[0], self._engine_order(
            tuple(getattr(self, name) for name in row.states)))
        spk_seq, seqs, lasts = run_multistep(row.neuron, input_seq.to(x.dtype), init,
                                             self._family_args(None), self.spike_grad, self._native())
        for name, value in zip(row.states, self._peer_order(lasts)):
            setattr(self, name, value)
        return self._outputs(self._graded(spk_seq), self._peer_order(seqs))

    def extra_repr(self) -> str:
        return f"reset_mechanism={self.reset_mechanism!r}, init_hidden={self.init_hidden}, output={self.output}"


class RecurrentOneToOne(nn.Module):
    """snnTorch's one-to-one recurrent weights: x * V, element-wise or global."""

    def __init__(self, V):
        super().__init__()
        self.V = V

    def forward(self, x):
        return x * self.V


_ARG_SOURCE = {
    "recurrent_input": "recurrent_input",
    "reset_mechanism": "RESET_DICT[self._reset_mechanism]",
    "reset_delay": "self.reset_delay",
    "R": "self._lapicque('R')", "C": "self._lapicque('C')",
    "time_step": "self._unchanged('time_step', _floating)",
}


def _make_class(row: NeuronClass) -> type:
    names = [p.split("=")[0].strip() for p in row.signature.split(",")]
    engine = ("mem",) + tuple(row.neuron.extra_states)
    peer = tuple(s for s in row.states if s != "spk")
    args = ", ".join(_ARG_SOURCE.get(name, f"(b[{name!r}] if {name!r} in b else p[{name!r}])")
                     for name in row.neuron.arg_names)
    given = ", ".join(f"{s}=None" for s in row.states)
    source = (f"def __init__(self, {row.signature}):\n"
              f"    SpikingNeuron._init_neuron(self, dict({', '.join(f'{n}={n}' for n in names)}))\n"
              f"def forward(self, input_, {given}):\n"
              f"    return self._run(input_, ({', '.join(row.states)},))\n"
              f"def {row.init}(self):\n"
              f"    return self.reset_mem()\n"
              f"def _family_args(self, recurrent_input):\n"
              f"    b, p = self._buffers, self._parameters  # (nn.Module's __getattr__ is slow)\n"
              f"    return ({args},)\n"
              f"def _engine_order(self, states):\n"
              f"    return ({''.join(f'states[{peer.index(s)}], ' for s in engine)})\n"
              f"def _peer_order(self, states):\n"
              f"    return ({''.join(f'states[{engine.index(s)}], ' for s in peer)})\n")
    namespace = {"SpikingNeuron": SpikingNeuron, "RESET_DICT": RESET_DICT, "_floating": _floating}
    init = classes.compile_function(source, "__init__", namespace)
    members = {"__init__": init, "__module__": "surrogate_ext.snntorch", "_row": row,
               "__doc__": row.doc + f"\n\nsnnTorch 1.0.0's ``snntorch.{row.name}`` on the engine's family "
                                    f"``{row.family}``."}
    for name in ("forward", row.init, "_family_args", "_engine_order", "_peer_order"):
        members[name] = namespace[name]
    peer_class = _snntorch_class(row.name)
    bases = (SpikingNeuron,) + ((peer_class,) if peer_class is not None else ())
    cls = type(row.name, bases, members)
    for name in ("__init__", "forward", row.init):
        members[name].__qualname__ = f"{row.name}.{name}"
    return cls


for _row in CLASSES:
    globals()[_row.name] = _make_class(_row)
del _row

__all__ = ["CLASSES", "SpikingNeuron", "RecurrentOneToOne"] + [row.name for row in CLASSES]
