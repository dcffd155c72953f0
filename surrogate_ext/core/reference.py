"""Pure-PyTorch reference implementation: the Python fallback and the tests' oracle.

For every surrogate ``<op>`` of :mod:`surrogate_ext.registry` this module defines

* ``<op>_primitive(x, *params)``: the primitive g(x), differentiable by autograd;
* ``<op>_grad(x, *params)``: the surrogate gradient g'(x).

and, built from those, the same module API as :mod:`surrogate_ext` (``reference.ATan(alpha=2.0)``
and so on), where each spiking forward is ``heaviside`` and each backward is several separate
tensor passes, as in SpikingJelly. The formulas follow SpikingJelly 0.0.0.0.14's code, with the
PiecewiseLeakyReLU gradient fixed to 1/(2w) inside [-w, w]. They are written with
``torch.where`` rather than SpikingJelly's ``mask * value`` products, so an infinite input does not
turn into ``0 * inf = nan``.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from . import registry


def heaviside(x: Tensor, strict: bool = False) -> Tensor:
    """1 where x >= 0 (x > 0 when ``strict``), else 0 (NaN gives 0), in x's dtype."""
    return ((x > 0) if strict else (x >= 0)).to(x.dtype)


def _where(cond: Tensor, a, b) -> Tensor:
    return torch.where(cond, a, b)


# PiecewiseQuadratic: g'(x) = alpha - alpha^2 |x| for |x| <= 1/alpha, else 0.
def piecewise_quadratic_primitive(x: Tensor, alpha: float = 1.0) -> Tensor:
    inner = -alpha ** 2 / 2 * x * x.abs() + alpha * x + 0.5
    return _where(x > 1.0 / alpha, torch.ones_like(x), _where(x < -1.0 / alpha, torch.zeros_like(x), inner))


def piecewise_quadratic_grad(x: Tensor, alpha: float = 1.0) -> Tensor:
    x_abs = x.abs()
    return _where(x_abs > 1.0 / alpha, torch.zeros_like(x), alpha - alpha ** 2 * x_abs)


# PiecewiseExp: g'(x) = alpha/2 exp(-alpha |x|).
def piecewise_exp_primitive(x: Tensor, alpha: float = 1.0) -> Tensor:
    return _where(x >= 0, 1 - torch.exp(-alpha * x) / 2, torch.exp(alpha * x) / 2)


def piecewise_exp_grad(x: Tensor, alpha: float = 1.0) -> Tensor:
    return alpha / 2 * torch.exp(-alpha * x.abs())


# Sigmoid: g(x) = sigmoid(alpha x); g'(x) = alpha s (1 - s).
def sigmoid_primitive(x: Tensor, alpha: float = 4.0) -> Tensor:
    return torch.sigmoid(alpha * x)


def sigmoid_grad(x: Tensor, alpha: float = 4.0) -> Tensor:
    # alpha s (1 - s) = alpha e / (1 + e)^2, e = exp(-alpha |x|): no cancellation in 1 - s
    e = torch.exp(-alpha * x.abs())
    return alpha * e / (1 + e) ** 2


# SoftSign: g(x) = (softsign(alpha x) + 1) / 2; g'(x) = 1 / (2 alpha (1/alpha + |x|)^2).
def soft_sign_primitive(x: Tensor, alpha: float = 2.0) -> Tensor:
    return (torch.nn.functional.softsign(alpha * x) + 1) / 2


def soft_sign_grad(x: Tensor, alpha: float = 2.0) -> Tensor:
    return 1 / (2 * alpha * (1 / alpha + x.abs()) ** 2)


# ATan: g(x) = atan(pi/2 alpha x)/pi + 1/2; g'(x) = alpha/2 / (1 + (pi/2 alpha x)^2).
def atan_primitive(x: Tensor, alpha: float = 2.0) -> Tensor:
    return torch.atan(math.pi / 2 * alpha * x) / math.pi + 0.5


def atan_grad(x: Tensor, alpha: float = 2.0) -> Tensor:
    return alpha / 2 / (1 + (math.pi / 2 * alpha * x) ** 2)


# NonzeroSignLogAbs: g(x) = s log(alpha s x + 1), s = 1 for x >= 0 else -1; g'(x) = 1/(1/alpha + |x|).
def nonzero_sign_log_abs_primitive(x: Tensor, alpha: float = 1.0) -> Tensor:
    magnitude = torch.log1p(alpha * x.abs())
    return _where(x >= 0, magnitude, -magnitude)


def nonzero_sign_log_abs_grad(x: Tensor, alpha: float = 1.0) -> Tensor:
    return 1 / (1 / alpha + x.abs())


# Erf: g(x) = erfc(-alpha x)/2; g'(x) = alpha/sqrt(pi) exp(-alpha^2 x^2).
def erf_primitive(x: Tensor, alpha: float = 2.0) -> Tensor:
    return torch.special.erfc(-alpha * x) / 2


def erf_grad(x: Tensor, alpha: float = 2.0) -> Tensor:
    return alpha / math.sqrt(math.pi) * torch.exp(-(alpha * x) ** 2)


# PiecewiseLeakyReLU: g'(x) = 1/(2w) for |x| < w, else c (SpikingJelly <= 0.0.0.0.14 had 1/w).
def piecewise_leaky_relu_primitive(x: Tensor, w: float = 1.0, c: float = 0.01) -> Tensor:
    return _where(x < -w, c * x + c * w, _where(x > w, c * x - c * w + 1, x / (2 * w) + 0.5))


def piecewise_leaky_relu_grad(x: Tensor, w: float = 1.0, c: float = 0.01) -> Tensor:
    return _where(x.abs() < w, torch.full_like(x, 1 / (2 * w)), torch.full_like(x, c))


# SquarewaveFourierSeries: g(x) = 1/2 + 2/pi sum_{i=1}^{n-1} sin((2i-1) w x)/(2i-1), w = 2 pi / T.
def squarewave_fourier_series_primitive(x: Tensor, n: int = 2, T_period: float = 8.0) -> Tensor:
    w = 2 * math.pi / T_period
    total = torch.zeros_like(x)
    for i in range(1, n):
        c = 2 * i - 1
        total = total + torch.sin(c * w * x) / c
    return 0.5 + 2 / math.pi * total


def squarewave_fourier_series_grad(x: Tensor, n: int = 2, T_period: float = 8.0) -> Tensor:
    w = 2 * math.pi / T_period
    total = torch.zeros_like(x)
    for i in range(1, n):
        total = total + torch.cos((2 * i - 1) * w * x)
    return 4 / T_period * total


# S2NN: g(x) = sigmoid(alpha x) for x < 0, beta log(|x + 1| + 1e-5) + 1/2 for x >= 0.
# The surrogate gradient uses beta / (x + 1) for x >= 0 (no 1e-5), as SpikingJelly does, so it
# differs from the primitive's exact derivative by about 1e-5 relative there.
def s2nn_primitive(x: Tensor, alpha: float = 4.0, beta: float = 1.0) -> Tensor:
    return _where(x < 0, torch.sigmoid(alpha * x), beta * torch.log((x + 1).abs() + 1e-5) + 0.5)


def s2nn_grad(x: Tensor, alpha: float = 4.0, beta: float = 1.0) -> Tensor:
    return _where(x < 0, sigmoid_grad(x, alpha), beta / (x + 1))


def s2nn_primitive_grad(x: Tensor, alpha: float = 4.0, beta: float = 1.0) -> Tensor:
    # the exact derivative of s2nn_primitive, 1e-5 included (the C++ functor's primitive_grad)
    return _where(x < 0, sigmoid_grad(x, alpha), beta / ((x + 1).abs() + 1e-5))


# QPseudoSpike: g'(x) = (1 + 2|x|/(alpha-1))^(-alpha);
# g(x) = t for x < 0, 1 - t for x >= 0, with t = (1 + 2|x|/(alpha-1))^(1-alpha) / 2.
def q_pseudo_spike_primitive(x: Tensor, alpha: float = 2.0) -> Tensor:
    t = 0.5 * (1 + 2 / (alpha - 1) * x.abs()) ** (1 - alpha)
    return _where(x >= 0, 1 - t, t)


def q_pseudo_spike_grad(x: Tensor, alpha: float = 2.0) -> Tensor:
    return (1 + 2 / (alpha - 1) * x.abs()) ** (-alpha)


# SuperSpike (SpikingJelly 2.0): g'(x) = alpha / (1 + |x|)^2; g(x) = alpha x / (1 + |x|) + 1/2.
def super_spike_primitive(x: Tensor, alpha: float = 1.0) -> Tensor:
    return alpha * x / (1 + x.abs()) + 0.5


def super_spike_grad(x: Tensor, alpha: float = 1.0) -> Tensor:
    return alpha / (x.abs() + 1) ** 2


# LeakyKReLU (SpikingJelly 2.0): g'(x) = k for x >= 0, leak for x < 0; g(x) = k x or leak x.
def leaky_k_relu_primitive(x: Tensor, leak: float = 0.0, k: float = 1.0) -> Tensor:
    return _where(x >= 0, k * x, leak * x)


def leaky_k_relu_grad(x: Tensor, leak: float = 0.0, k: float = 1.0) -> Tensor:
    return _where(x >= 0, torch.full_like(x, k), torch.full_like(x, leak))


# FakeNumericalGradient (SpikingJelly 2.0): g'(x) = min(1/|x|, alpha) (alpha at both zeros);
# g(x) = alpha x for |x| <= 1/alpha, sign(x) (1 + log(alpha |x|)) beyond.
def fake_numerical_gradient_primitive(x: Tensor, alpha: float = 0.3) -> Tensor:
    tail = 1 + torch.log(alpha * x.abs().clamp_min(1 / alpha))  # no log(0) in the branch not taken
    return _where(x.abs() <= 1 / alpha, alpha * x, _where(x >= 0, tail, -tail))


def fake_numerical_gradient_grad(x: Tensor, alpha: float = 0.3) -> Tensor:
    return torch.clamp_max(1 / x.abs(), alpha)


# LogTailedReLU (SpikingJelly 2.0): g'(x) = alpha for x <= 0, 1 for 0 < x <= 1, 1/x for x > 1;
# g(x) = alpha x, x, log(x) + 1 on the same intervals.
def log_tailed_relu_primitive(x: Tensor, alpha: float = 0.0) -> Tensor:
    return _where(x > 1, torch.log(x.clamp_min(1)) + 1, _where(x > 0, x, alpha * x))


def log_tailed_relu_grad(x: Tensor, alpha: float = 0.0) -> Tensor:
    return _where(x > 1, 1 / x.clamp_min(1), _where(x <= 0, torch.full_like(x, alpha), torch.ones_like(x)))


# DeterministicPass (the straight-through estimator): g'(x) = 1; g(x) = x.
def deterministic_pass_primitive(x: Tensor) -> Tensor:
    return x.clone()


def deterministic_pass_grad(x: Tensor) -> Tensor:
    return torch.ones_like(x)


# Rect (SpikingJelly 2.0): g'(x) = alpha for |x| < 1/(2 alpha), else 0; g(x) = clamp(alpha x + 1/2, 0, 1).
def rect_primitive(x: Tensor, alpha: float = 1.0) -> Tensor:
    return torch.clamp(alpha * x + 0.5, 0, 1)


def rect_grad(x: Tensor, alpha: float = 1.0) -> Tensor:
    return alpha * (x.abs() < 0.5 / alpha).to(x.dtype)


# Triangular (snnTorch 1.0, as coded): g'(x) = -threshold for x >= 0, threshold for x < 0;
# g(x) = -threshold |x|.
def triangular_primitive(x: Tensor, threshold: float = 1.0) -> Tensor:
    return _where(x >= 0, -threshold * x, threshold * x)


def triangular_grad(x: Tensor, threshold: float = 1.0) -> Tensor:
    return _where(x >= 0, torch.full_like(x, -threshold), torch.full_like(x, threshold))


# SpikeRateEscape (snnTorch 1.0): g'(x) = slope exp(-beta |x - 1|).
def spike_rate_escape_primitive(x: Tensor, beta: float = 1.0, slope: float = 25.0) -> Tensor:
    # no |u| in the branches (autograd's derivative of |u| at 0 is 0), and no exp overflow in the
    # branch not taken (its zero gradient times inf would be NaN)
    u = x - 1
    below = slope / beta * torch.exp(beta * u.clamp(max=0))
    above = 2 * slope / beta - slope / beta * torch.exp(-beta * u.clamp(min=0))
    return _where(u < 0, below, above)


def spike_rate_escape_grad(x: Tensor, beta: float = 1.0, slope: float = 25.0) -> Tensor:
    return slope * torch.exp(-beta * (x - 1).abs())


# SparseFastSigmoid (snnTorch 1.0's SFS): g'(x) = 1 / (slope |x| + 1)^2 for x > B, else 0;
# g(x) = F(x) - F(B) for x > B, else 0, F(x) = x / (1 + slope |x|).
def sparse_fast_sigmoid_primitive(x: Tensor, slope: float = 25.0, B: float = 1.0) -> Tensor:
    F_B = B / (1 + slope * abs(B))
    return _where(x > B, x / (1 + slope * x.abs()) - F_B, torch.zeros_like(x))


def sparse_fast_sigmoid_grad(x: Tensor, slope: float = 25.0, B: float = 1.0) -> Tensor:
    return _where(x > B, 1 / (slope * x.abs() + 1) ** 2, torch.zeros_like(x))


# LeakySpikeOperator (snnTorch 1.0's LSO, and heaviside() with slope 0): g'(x) = 1 for x > 0,
# slope for x <= 0; g(x) = x or slope x.
def leaky_spike_operator_primitive(x: Tensor, slope: float = 0.1) -> Tensor:
    return _where(x > 0, x, slope * x)


def leaky_spike_operator_grad(x: Tensor, slope: float = 0.1) -> Tensor:
    return _where(x > 0, torch.ones_like(x), torch.full_like(x, slope))


# HeaviCirc (Norse 1.1's circ): g(x) = 1/2 + x / (2 sqrt(x^2 + alpha^2));
# g'(x) = alpha^2 / (2 (x^2 + alpha^2)^(3/2)) (Norse's backward is 2 alpha times this).
def heavi_circ_primitive(x: Tensor, alpha: float = 1.0) -> Tensor:
    # x / sqrt(x^2 + alpha^2) divided through by max(|x|, alpha): no overflow, and +-1 at +-inf
    outside = x.abs() > alpha
    u = torch.where(outside, torch.sign(x), x / alpha)
    a = torch.where(outside, alpha / x.abs().clamp_min(alpha), torch.ones_like(x))
    return 0.5 + 0.5 * u / torch.sqrt(u * u + a * a)


def heavi_circ_grad(x: Tensor, alpha: float = 1.0) -> Tensor:
    return alpha ** 2 / (2 * (x * x + alpha ** 2) ** 1.5)


# MultiLevelSpikeCount (SpikingJelly 2.0): spike round(clamp(x, 0, max_spike_count)); g'(x) = 1 on
# [grad_min, grad_max], else 0; g(x) = clamp(x, 0, max_spike_count), whose derivative is 1 on
# [0, max_spike_count].
def multi_level_spike_count_spike(x: Tensor, max_spike_count: int, grad_min: float, grad_max: float,
                                  strict: bool = False) -> Tensor:
    return torch.round(torch.clamp(x, 0, max_spike_count))


def multi_level_spike_count_primitive(x: Tensor, max_spike_count: int, grad_min: float,
                                      grad_max: float) -> Tensor:
    return torch.clamp(x, 0, max_spike_count)


def multi_level_spike_count_grad(x: Tensor, max_spike_count: int, grad_min: float,
                                 grad_max: float) -> Tensor:
    return ((x >= grad_min) & (x <= grad_max)).to(x.dtype)


def multi_level_spike_count_primitive_grad(x: Tensor, max_spike_count: int, grad_min: float,
                                           grad_max: float) -> Tensor:
    return ((x >= 0) & (x <= max_spike_count)).to(x.dtype)


# --- The module API, built from the formulas above -------------------------------------------

class SurrogateSpike(torch.autograd.Function):
    """The spiking forward (heaviside, or a row's own ``<op>_spike``); grad_output * g'(x)
    backward, with g' a reference ``<op>_grad``."""

    @staticmethod
    def forward(ctx, x, entry, *params):
        ctx.save_for_backward(x)
        ctx.grad_fn, ctx.params = entry.grad, params
        return entry.spike(x, *params)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return (grad_output * ctx.grad_fn(x, *ctx.params), None) + (None,) * len(ctx.params)


def spiking(op: str, x: Tensor, *params) -> Tensor:
    """The reference spiking function of surrogate ``op``."""
    return SurrogateSpike.apply(x, registry.BY_OP[op], *params)


def primitive(op: str, x: Tensor, *params) -> Tensor:
    """The reference primitive function of surrogate ``op``."""
    return registry.BY_OP[op].primitive(x, *params)


class ReferenceSurrogate(torch.nn.Module):
    """Base of the reference modules: ``reference.ATan(alpha=2.0, spiking=True)`` and so on."""

    entry: registry.Surrogate

    def __init__(self, *args, spiking: bool = True, **kwargs):
        super().__init__()
        names = self.entry.param_names
        values = dict(zip(names, self.entry.defaults))
        values.update(zip(names, args))
        values.update(kwargs)
        self.params = self.entry.check(*(values[n] for n in names))
        self.spiking = spiking

    def forward(self, x: Tensor) -> Tensor:
        if self.spiking:
            return spiking(self.entry.op, x, *self.params)
        return primitive(self.entry.op, x, *self.params)


for _entry in registry.SURROGATES:
    globals()[_entry.cls] = type(_entry.cls, (ReferenceSurrogate,), {"entry": _entry, "__module__": __name__})
del _entry
