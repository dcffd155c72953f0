"""A drop-in for ``snntorch.surrogate`` (snnTorch 1.0.0) on the native operators::

    from surrogate_ext.snntorch import surrogate   # instead of: from snntorch import surrogate
    lif = snntorch.Leaky(beta=0.9, spike_grad=surrogate.fast_sigmoid(slope=25))

The factories have snnTorch's names, signatures and defaults. Each is a module class, generated
from :data:`SURROGATES` (one row per factory: our operator, the parameter map and the gradient's
multiplier); calling it returns the callable that snnTorch's neurons take as ``spike_grad=``. The
forward fires on x > 0, as snnTorch's does, in the input's dtype; the backward is snnTorch's
gradient as coded, computed by the native kernels. The modules script, compile and export, and
``surrogate_ext.clock_driven.neuron``'s fused neurons take them (``backend='native'``).

Deliberate differences from snnTorch 1.0.0 (docs/snntorch.md lists them all):

* the output keeps the input's dtype (snnTorch returns float32 whatever the input);
* ``sigmoid`` has no NaN gradient where snnTorch's exp(-slope x) overflows;
* ``LSO(slope)`` computes its documented gradient (snnTorch's raises TypeError);
* parameters are checked when the surrogate is made: ValueError naming the parameter.

``SSO`` is the special operator ``stochastic_spike_operator`` (its backward draws the gradient of
the units that did not fire from torch's generator, as snnTorch does). ``custom_surrogate(fn)``
keeps snnTorch's contract, ``fn(input_, grad_input, out)``; it is a Python autograd.Function.
"""
from __future__ import annotations

from typing import Tuple

import torch

from ..core import peers as _peers
from ..core.peers import PeerParam, PeerSurrogate

PEER = "snnTorch 1.0.0"

SURROGATES: Tuple[PeerSurrogate, ...] = (
    PeerSurrogate("atan", "atan", (PeerParam("alpha", 2.0, positive=True),), ("{alpha}",),
                  gradient="alpha/2 / (1 + (pi/2 alpha x)^2)"),
    PeerSurrogate("fast_sigmoid", "soft_sign", (PeerParam("slope", 25, positive=True),),
                  ("{slope}",), grad_scale="2.0 / {slope}", gradient="1 / (slope |x| + 1)^2"),
    PeerSurrogate("sigmoid", "sigmoid", (PeerParam("slope", 25, positive=True),), ("{slope}",),
                  gradient="slope e / (e + 1)^2, e = exp(-slope x)",
                  fix="snnTorch's grad_output slope exp(-slope x) overflows, and inf / inf is NaN: "
                      "at slope 25 and grad_output 1 for x < -3.42 in float32 (x < -28.26 in "
                      "float64); here slope s (1 - s), s = sigmoid(slope x), about 0 there"),
    PeerSurrogate("triangular", "triangular", (PeerParam("threshold", 1),), ("{threshold}",),
                  gradient="threshold for x < 0, -threshold for x >= 0 (snnTorch's sign flip, "
                           "as coded)"),
    PeerSurrogate("spike_rate_escape", "spike_rate_escape",
                  (PeerParam("beta", 1, positive=True), PeerParam("slope", 25, positive=True)),
                  ("{beta}", "{slope}"), gradient="slope exp(-beta |x - 1|) (its peak at x = 1)"),
    PeerSurrogate("straight_through_estimator", "deterministic_pass", gradient="1"),
    PeerSurrogate("heaviside", "leaky_spike_operator", op_args=("0.0",),
                  gradient="1 for x > 0, else 0 (the spike itself)"),
    PeerSurrogate("SFS", "sparse_fast_sigmoid",
                  (PeerParam("slope", 25, positive=True), PeerParam("B", 1)), ("{slope}", "{B}"),
                  gradient="1 / (slope |x| + 1)^2 for x > B, else 0"),
    PeerSurrogate("LSO", "leaky_spike_operator", (PeerParam("slope", 0.1),), ("{slope}",),
                  gradient="1 for x > 0, slope for x <= 0",
                  fix="snnTorch's LSO(slope) calls StochasticSpikeOperator.apply(x, slope), which "
                      "raises TypeError; here the gradient its documentation gives, out + slope "
                      "(1 - out), out = (x > 0)"),
)
"""The factories computed by a registry row: the spiking forward x > 0 and the row's gradient,
times ``grad_scale``."""


def _doc(row: PeerSurrogate) -> str:
    text = (f"snnTorch's ``surrogate.{row.name}({row.signature()})``: spikes where x > 0 (in x's "
            f"dtype); gradient {row.gradient}. Computed by ``torch.ops.surrogate_ext.{row.op}``.")
    return text + (f"\n\nDifference from {PEER}: {row.fix}." if row.fix else "")


for _row in SURROGATES:
    _peers.module_class(_row, __name__, globals(), _doc(_row))
del _row


class SSO(torch.nn.Module):
    """snnTorch's ``surrogate.SSO(mean=0, variance=0.2)``, the stochastic spike operator: spikes
    where x > 0; the gradient is 1 where the unit fired and (u - 1/2 + mean) variance, u ~ U[0, 1)
    drawn from torch's generator in the backward, where it did not (snnTorch's formula and draw,
    so a seeded run reproduces snnTorch's numbers).
    ``torch.ops.surrogate_ext.stochastic_spike_operator``.
    """

    def __init__(self, mean=0, variance=0.2):
        super().__init__()
        self.mean = _peers.check_param("SSO", "mean", _peers.to_float("SSO", "mean", mean), False)
        self.variance = _peers.check_param("SSO", "variance",
                                           _peers.to_float("SSO", "variance", variance), False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.surrogate_ext.stochastic_spike_operator(x, self.mean, self.variance)

    def extra_repr(self) -> str:
        return f"mean={self.mean}, variance={self.variance}"


class CustomSurrogate(torch.autograd.Function):
    """The strict spike forward (x > 0, in x's dtype); the backward is the user's function,
    ``fn(input_, grad_input, out)``, as in snnTorch. A Python autograd.Function: it neither
    scripts nor exports."""

    @staticmethod
    def forward(ctx, input_, custom_surrogate_function):
        out = torch.ops.surrogate_ext.heaviside(input_, strict=True)
        ctx.save_for_backward(input_, out)
        ctx.custom_surrogate_function = custom_surrogate_function
        return out

    @staticmethod
    def backward(ctx, grad_output):
        input_, out = ctx.saved_tensors
        return ctx.custom_surrogate_function(input_, grad_output.clone(), out), None


def custom_surrogate(custom_surrogate_function):
    """snnTorch's ``surrogate.custom_surrogate(fn)``: spikes where x > 0; the gradient is
    ``fn(input_, grad_input, out)`` (the forward's input, the incoming gradient and the spikes).
    Python, not native: see :class:`CustomSurrogate`."""
    func = custom_surrogate_function

    def inner(data):
        return CustomSurrogate.apply(data, func)

    return inner


__all__ = [row.name for row in SURROGATES] + ["SSO", "custom_surrogate", "CustomSurrogate"]
