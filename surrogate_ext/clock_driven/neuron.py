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

Each class is a family of the neuron engine (:mod:`surrogate_ext.core.neurons`: ``if``, ``lif``,
``plif``), with two backends:

* ``'torch'``: the family's reference step in a PyTorch loop over the T steps, calling
  ``surrogate_function`` (any module, e.g. one of SpikingJelly's), as SpikingJelly's ``'torch'``
  backend does;
* ``'native'``: one fused operator runs all T steps, ``torch.ops.surrogate_ext.<family>_multistep``,
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

from ..core.neurons import BY_NAME, native_call, native_surrogate, run_multistep
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


class _MultiStepNode(nn.Module):
    """What the three neurons share: the state, the two backends (both the neuron engine's
    family of the class: its fused operators, or its reference step in a loop)."""

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
            try:
                native_surrogate(self.surrogate_function)
            except ValueError as e:
                raise ValueError(f"backend 'native': {e} (use backend='torch')") from None

    # --- subclasses: the engine's family and its arguments before the reset's
    family = ""

    def _family_args(self) -> tuple:
        raise NotImplementedError

    def forward(self, x_seq: Tensor) -> Tensor:
        if not isinstance(x_seq, Tensor) or x_seq.dim() < 2:
            raise ValueError("x_seq must be a tensor of shape [T, N, ...] (at least 2 dims), got "
                             + (f"shape {list(x_seq.shape)}" if isinstance(x_seq, Tensor) else repr(x_seq)))
        self._check_backend()
        # Natively one fused operator for the T steps (and one for the backward). Under
        # torch.compile it stays an opaque call (no decomposition: it beats Inductor's loop). A
        # state left on the module at the end of a compiled region is a graph output, and if it
        # requires grad AOTAutograd gives the backward a zero gradient of its size: [T, ...] for
        # v_seq, one step for v, which the operator returns as a tensor of its own
        # (docs/compile.md).
        native = native_call(self.surrogate_function) if self.backend == "native" else None
        if isinstance(self.v, Tensor):
            v_init = torch.broadcast_to(self.v, x_seq.shape[1:])
        else:  # contiguous whatever x_seq's strides: the operator would copy a strided v_init
            v_init = x_seq.new_full(x_seq.shape[1:], self.v)
        args = self._family_args() + (self.v_threshold, self.v_reset, self.detach_reset)
        spike_seq, seqs, (v,) = run_multistep(BY_NAME[self.family], x_seq, (v_init,), args,
                                              self.surrogate_function, native, self.store_v_seq)
        self.v_seq = seqs[0] if self.store_v_seq else None
        self.v = v
        return spike_seq

    def extra_repr(self) -> str:
        return (f"v_threshold={self.v_threshold}, v_reset={self.v_reset}, "
                f"detach_reset={self.detach_reset}, backend={self.backend}"
                + ("" if self.store_v_seq else ", store_v_seq=False"))


class MultiStepIFNode(_MultiStepNode):
    """Integrate-and-fire: H[t] = V[t-1] + X[t]."""

    family = "if"

    def __init__(self, v_threshold: float = 1., v_reset: Optional[float] = 0.,
                 surrogate_function=None, detach_reset: bool = False, backend: str = 'torch',
                 *, store_v_seq: bool = True):
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, backend,
                         store_v_seq=store_v_seq)

    def _family_args(self):
        return ()


class MultiStepLIFNode(_MultiStepNode):
    """Leaky integrate-and-fire, tau > 1:
    decay_input: H[t] = V[t-1] + (X[t] - (V[t-1] - V_reset)) / tau;
    otherwise:   H[t] = V[t-1] - (V[t-1] - V_reset) / tau + X[t]
    (with V_reset 0 or None: V[t-1] (1 - 1/tau) + X[t], as SpikingJelly 0.0.0.0.14 evaluates it)."""

    family = "lif"

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

    def _family_args(self):
        return (self.tau, self.decay_input, True)

    def extra_repr(self):
        return super().extra_repr() + f", tau={self.tau}, decay_input={self.decay_input}"


class MultiStepParametricLIFNode(_MultiStepNode):
    """Parametric LIF (Fang et al. 2021): the LIF charge with 1/tau = sigmoid(w), w learnable,
    initialised so that tau = init_tau (> 1)."""

    family = "plif"

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

    def _family_args(self):
        return (self.w, self.decay_input, True)

    def extra_repr(self):
        with torch.no_grad():
            tau = 1. / self.w.sigmoid()
        return super().extra_repr() + f", tau={tau}, decay_input={self.decay_input}"
