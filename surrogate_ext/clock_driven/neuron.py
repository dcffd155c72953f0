"""Multi-step spiking neurons mirroring ``spikingjelly.clock_driven.neuron`` 0.0.0.0.14:
``MultiStepIFNode``, ``MultiStepLIFNode`` and ``MultiStepParametricLIFNode``.

The input is a sequence ``x_seq`` of shape ``[T, ...]``; the output is the spike sequence. The state
is ``v`` (the membrane potential after the last step; a float until the first call) and ``v_seq``
(the potentials of every step); ``reset()`` restores the initial state. ``v_reset=None`` means a
soft reset (subtract ``v_threshold``).

Both stay differentiable: a loss may use ``v_seq``, and a state carried into the next call carries
its gradient. ``store_v_seq=False`` (keyword-only; SpikingJelly 2.0's default) keeps only ``v``
and leaves ``v_seq`` None. Under ``torch.compile`` that matters: a stored ``v_seq`` is an output of
the compiled graph, and AOTAutograd hands the backward a [T, ...] gradient of zeros for it when the
loss does not use it; with ``store_v_seq=False`` only ``v``'s one-step gradient is left
(docs/compile.md).

Backends:

* ``'torch'``: a PyTorch loop over T steps calling ``surrogate_function`` (any module, e.g. one of
  SpikingJelly's), as SpikingJelly's ``'torch'`` backend does.
* ``'native'``: one fused operator runs all T steps, ``torch.ops.surrogate_ext.<op>_multistep_node``,
  and one runs the BPTT backward, on the CPU and on CUDA, with the surrogate's own native gradient.
  ``surrogate_function`` must be a surrogate_ext surrogate (or a SpikingJelly one of the same
  class name, whose parameters are read) in spiking mode. In float32/float64 its spikes and
  potentials equal the 'torch' backend's bit for bit on the CPU.
"""
from __future__ import annotations

import math
import numbers
from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from ..core import registry
from ..core.classes import _Surrogate
from . import surrogate as _surrogate
from .surrogate import Sigmoid

__all__ = ["MultiStepIFNode", "MultiStepLIFNode", "MultiStepParametricLIFNode"]

BACKENDS = ("torch", "native")


def _check_real(name: str, value, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real number{' or None' if allow_none else ''}, "
                         f"got {value!r}")
    return float(value)


# The top-level classes by name: a module of the same class name (SpikingJelly's, 0.0.0.0.14 or
# 2.0) is read through its spec, which names the attributes that hold the parameters.
_CLASSES_BY_NAME = {spec.name: getattr(_surrogate, spec.name) for spec in _surrogate.SPECS}


def native_surrogate(surrogate_function) -> Tuple[str, tuple, dict]:
    """The operator name, parameters and keyword arguments (strict, grad_scale) of
    ``surrogate_function`` for the native backend: a surrogate_ext surrogate, or a module of the
    same class name with the same parameter attributes (SpikingJelly's surrogates). Raises
    ValueError for anything else."""
    native_call = getattr(surrogate_function, "native_call", None)
    if isinstance(surrogate_function, _Surrogate) and native_call is not None:
        op, params, kwargs = native_call()
        spec = surrogate_function._spec
    else:
        cls = _CLASSES_BY_NAME.get(type(surrogate_function).__name__)
        try:
            values = cls._op_params(surrogate_function)  # reads the attributes
        except AttributeError:  # no such class (cls is None), or an attribute is missing
            raise ValueError(
                "backend 'native' needs surrogate_function to be one of surrogate_ext's surrogates "
                f"(or SpikingJelly's class of the same name), got {type(surrogate_function).__name__}"
            ) from None
        spec = cls._spec
        params = spec.entry.check(*values)
        kwargs = dict(strict=spec.strict, grad_scale=float(cls._grad_scale(surrogate_function)))
    entry = spec.entry
    if spec.stochastic:
        raise ValueError(f"backend 'native' needs a threshold forward; "
                         f"{type(surrogate_function).__name__} fires at random (use backend='torch')")
    if not entry.threshold:
        raise ValueError(f"backend 'native' needs a threshold forward; {entry.cls}'s forward is "
                         f"its own (use backend='torch')")
    if not getattr(surrogate_function, "spiking", True):
        raise ValueError("backend 'native' needs surrogate_function in spiking mode (spiking=True)")
    return entry.op, tuple(params), kwargs


class _MultiStepNode(nn.Module):
    """What the three neurons share: the reset, the fire step, the state and the two backends."""

    supported_backends = BACKENDS

    def __init__(self, v_threshold: float = 1., v_reset: Optional[float] = 0.,
                 surrogate_function=None, detach_reset: bool = False, backend: str = 'torch',
                 *, store_v_seq: bool = True):
        super().__init__()
        self.v_threshold = _check_real("v_threshold", v_threshold)
        self.v_reset = _check_real("v_reset", v_reset, allow_none=True)
        self.surrogate_function = Sigmoid() if surrogate_function is None else surrogate_function
        if not callable(self.surrogate_function):
            raise ValueError(f"surrogate_function must be callable, got {surrogate_function!r}")
        self.detach_reset = bool(detach_reset)
        if not isinstance(store_v_seq, bool):
            raise ValueError(f"store_v_seq must be a bool, got {store_v_seq!r}")
        self.store_v_seq = store_v_seq
        self.backend = backend
        self._check_backend()
        self.reset()

    def reset(self) -> None:
        """Restores the initial state: v = v_reset (0 for a soft reset), v_seq = None."""
        self.v = self.v_reset if self.v_reset is not None else 0.
        self.v_seq = None

    def _check_backend(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.backend == "native":
            native_surrogate(self.surrogate_function)

    # --- subclasses: the charge equation and its native description
    def neuronal_charge(self, v, x: Tensor) -> Tensor:
        raise NotImplementedError

    def _native_charge(self) -> Tuple[str, float, Optional[Tensor], bool]:
        """(neuron, tau, k, decay_input) arguments of the native operator."""
        raise NotImplementedError

    def forward(self, x_seq: Tensor) -> Tensor:
        if not isinstance(x_seq, Tensor) or x_seq.dim() < 2:
            raise ValueError("x_seq must be a tensor of shape [T, N, ...] (at least 2 dims), got "
                             + (f"shape {list(x_seq.shape)}" if isinstance(x_seq, Tensor) else repr(x_seq)))
        self._check_backend()
        if self.backend == "torch":
            return self._forward_torch(x_seq)
        return self._forward_native(x_seq)

    def _forward_torch(self, x_seq: Tensor) -> Tensor:
        spikes, potentials = [], []
        v = self.v
        for t in range(x_seq.shape[0]):
            h = self.neuronal_charge(v, x_seq[t])
            spike = self.surrogate_function(h - self.v_threshold)
            spike_d = spike.detach() if self.detach_reset else spike
            if self.v_reset is None:
                v = h - spike_d * self.v_threshold
            else:
                v = (1. - spike_d) * h + spike_d * self.v_reset
            spikes.append(spike)
            if self.store_v_seq:
                potentials.append(v)
        self.v = v
        self.v_seq = torch.stack(potentials) if self.store_v_seq else None
        return torch.stack(spikes)

    def _forward_native(self, x_seq: Tensor) -> Tensor:
        # The one call of the fused operator. Under torch.compile it stays an opaque call (no
        # decomposition: it beats Inductor's loop); everything around it is traced away. A state
        # left on the module at the end of a compiled region is a graph output, and if it requires
        # grad AOTAutograd gives the backward a zero gradient of its size: [T, ...] for v_seq, one
        # step for v, which the operator returns as a tensor of its own (docs/compile.md).
        op_name, params, kwargs = native_surrogate(self.surrogate_function)
        op = getattr(torch.ops.surrogate_ext, op_name + "_multistep_node")
        if isinstance(self.v, Tensor):
            v_init = torch.broadcast_to(self.v, x_seq.shape[1:])
        else:  # contiguous whatever x_seq's strides: the operator would copy a strided v_init
            v_init = x_seq.new_full(x_seq.shape[1:], self.v)
        neuron, tau, k, decay_input = self._native_charge()
        spike_seq, v_seq, v = op(x_seq, v_init, neuron, tau, k, decay_input, self.v_threshold,
                                 self.v_reset, self.detach_reset, *params, **kwargs)
        self.v_seq = v_seq if self.store_v_seq else None
        self.v = v
        return spike_seq

    def extra_repr(self) -> str:
        return (f"v_threshold={self.v_threshold}, v_reset={self.v_reset}, "
                f"detach_reset={self.detach_reset}, backend={self.backend}"
                + ("" if self.store_v_seq else ", store_v_seq=False"))


class MultiStepIFNode(_MultiStepNode):
    """Integrate-and-fire: H[t] = V[t-1] + X[t]."""

    def __init__(self, v_threshold: float = 1., v_reset: Optional[float] = 0.,
                 surrogate_function=None, detach_reset: bool = False, backend: str = 'torch',
                 *, store_v_seq: bool = True):
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, backend,
                         store_v_seq=store_v_seq)

    def neuronal_charge(self, v, x):
        return v + x

    def _native_charge(self):
        return "if", 1.0, None, False


class MultiStepLIFNode(_MultiStepNode):
    """Leaky integrate-and-fire, tau > 1:
    decay_input: H[t] = V[t-1] + (X[t] - (V[t-1] - V_reset)) / tau;
    otherwise:   H[t] = V[t-1] - (V[t-1] - V_reset) / tau + X[t]."""

    def __init__(self, tau: float = 2., decay_input: bool = True, v_threshold: float = 1.,
                 v_reset: Optional[float] = 0., surrogate_function=None,
                 detach_reset: bool = False, backend: str = 'torch', *, store_v_seq: bool = True):
        tau = _check_real("tau", tau)
        if not tau > 1:
            raise ValueError(f"tau must be > 1, got {tau:g}")
        self.tau = tau
        self.decay_input = bool(decay_input)
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, backend,
                         store_v_seq=store_v_seq)

    def neuronal_charge(self, v, x):
        # SpikingJelly 0.0.0.0.14's expressions, in its order (the native op evaluates the same)
        zero_reset = self.v_reset is None or self.v_reset == 0.
        if self.decay_input:
            if zero_reset:
                return v + (x - v) / self.tau
            return v + (x - (v - self.v_reset)) / self.tau
        if zero_reset:
            return v * (1. - 1. / self.tau) + x
        return v - (v - self.v_reset) / self.tau + x

    def _native_charge(self):
        return "lif", self.tau, None, self.decay_input

    def extra_repr(self):
        return super().extra_repr() + f", tau={self.tau}, decay_input={self.decay_input}"


class MultiStepParametricLIFNode(_MultiStepNode):
    """Parametric LIF (Fang et al. 2021): the LIF charge with 1/tau = sigmoid(w), w learnable,
    initialised so that tau = init_tau (> 1)."""

    def __init__(self, init_tau: float = 2., decay_input: bool = True, v_threshold: float = 1.,
                 v_reset: Optional[float] = 0., surrogate_function=None,
                 detach_reset: bool = False, backend: str = 'torch', *, store_v_seq: bool = True):
        init_tau = _check_real("init_tau", init_tau)
        if not init_tau > 1:
            raise ValueError(f"init_tau must be > 1, got {init_tau:g}")
        self.decay_input = bool(decay_input)
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, backend,
                         store_v_seq=store_v_seq)
        self.w = nn.Parameter(torch.as_tensor(-math.log(init_tau - 1.)))

    def neuronal_charge(self, v, x):
        k = self.w.sigmoid()
        zero_reset = self.v_reset is None or self.v_reset == 0.
        if self.decay_input:
            if zero_reset:
                return v + (x - v) * k
            return v + (x - (v - self.v_reset)) * k
        if zero_reset:
            return v * (1. - k) + x
        return v - (v - self.v_reset) * k + x

    def _native_charge(self):
        return "plif", 1.0, self.w.sigmoid(), self.decay_input

    def extra_repr(self):
        with torch.no_grad():
            tau = 1. / self.w.sigmoid()
        return super().extra_repr() + f", tau={tau}, decay_input={self.decay_input}"
