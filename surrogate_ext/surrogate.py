"""The surrogate modules and Function classes, mirroring ``spikingjelly.clock_driven.surrogate``.

Every class is a thin wrapper over the native operators ``torch.ops.surrogate_ext.*``: the static
``spiking_function`` and ``primitive_function`` *are* those operators, so modules script, compile
and export. Parameters are checked once, at construction, with the operators' own messages.
"""
from __future__ import annotations

from typing import Tuple

import torch
from torch import Tensor

from . import cuda_code as _cuda_code
from . import registry

_ops = torch.ops.surrogate_ext


def heaviside(x: Tensor) -> Tensor:
    """The heaviside step: 1 where x >= 0, else 0 (NaN gives 0), in x's dtype. Not differentiable."""
    return _ops.heaviside(x)


class _Surrogate(torch.nn.Module):
    """What every surrogate module shares: parameters, mode, repr and cuda_code."""

    _op: str  # the registry row, by operator name

    def _init_params(self, spiking: bool, **values) -> None:
        entry = registry.BY_OP[self._op]
        checked = entry.check(*(values[name] for name in entry.param_names))
        for name, value in zip(entry.param_names, checked):
            setattr(self, name, value)
        self.spiking = bool(spiking)

    def surrogate_params(self) -> Tuple:
        """The parameter values, in the operators' order."""
        return tuple(getattr(self, name) for name in registry.BY_OP[self._op].param_names)

    def set_spiking_mode(self, spiking: bool):
        self.spiking = bool(spiking)

    def extra_repr(self) -> str:
        values = ", ".join(f"{n}={getattr(self, n)}" for n in registry.BY_OP[self._op].param_names)
        return f"{values}, spiking={self.spiking}"

    def cuda_code(self, x: str, y: str, dtype: str = "fp32") -> str:
        """A CUDA C++ snippet declaring ``y`` as the surrogate gradient at ``x``
        (``float`` for dtype 'fp32', ``half2`` for 'fp16'), as SpikingJelly's neuron kernels use."""
        return _cuda_code.cuda_code(self._op, self.surrogate_params(), x, y, dtype,
                                    "sg_" + self._get_name(), self.cuda_code_start_comments(),
                                    self.cuda_code_end_comments())

    def cuda_code_start_comments(self) -> str:
        return f"// start: surrogate_ext.{self._get_name()}.cuda_code"

    def cuda_code_end_comments(self) -> str:
        return f"// end: surrogate_ext.{self._get_name()}.cuda_code"


class SurrogateFunctionBase(_Surrogate):
    """Base of the single-parameter surrogates: ``Cls(alpha, spiking=True)``."""

    def __init__(self, alpha, spiking: bool = True):
        super().__init__()
        self._init_params(spiking, alpha=alpha)

    @staticmethod
    def spiking_function(x, alpha):
        raise NotImplementedError

    @staticmethod
    def primitive_function(x, alpha):
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        if self.spiking:
            return self.spiking_function(x, self.alpha)
        return self.primitive_function(x, self.alpha)


class MultiArgsSurrogateFunctionBase(_Surrogate):
    """Base of the surrogates with several parameters: ``Cls(p1, p2, spiking=True)``."""

    def __init__(self, spiking: bool, *args, **kwargs):
        super().__init__()
        self.spiking = bool(spiking)


class PiecewiseQuadratic(SurrogateFunctionBase):
    """g'(x) = alpha - alpha^2 |x| for |x| <= 1/alpha, else 0.
    g(x) = 0 for x < -1/alpha; -alpha^2/2 x|x| + alpha x + 1/2 for |x| <= 1/alpha; 1 for x > 1/alpha."""
    _op = "piecewise_quadratic"
    spiking_function = staticmethod(_ops.piecewise_quadratic)
    primitive_function = staticmethod(_ops.piecewise_quadratic_primitive)

    def __init__(self, alpha=1.0, spiking=True):
        super().__init__(alpha, spiking)


class PiecewiseExp(SurrogateFunctionBase):
    """g'(x) = alpha/2 exp(-alpha |x|).  g(x) = exp(alpha x)/2 for x < 0; 1 - exp(-alpha x)/2 for x >= 0."""
    _op = "piecewise_exp"
    spiking_function = staticmethod(_ops.piecewise_exp)
    primitive_function = staticmethod(_ops.piecewise_exp_primitive)

    def __init__(self, alpha=1.0, spiking=True):
        super().__init__(alpha, spiking)


class Sigmoid(SurrogateFunctionBase):
    """g(x) = sigmoid(alpha x).  g'(x) = alpha s (1 - s), s = sigmoid(alpha x)."""
    _op = "sigmoid"
    spiking_function = staticmethod(_ops.sigmoid)
    primitive_function = staticmethod(_ops.sigmoid_primitive)

    def __init__(self, alpha=4.0, spiking=True):
        super().__init__(alpha, spiking)


class SoftSign(SurrogateFunctionBase):
    """g(x) = (softsign(alpha x) + 1)/2.  g'(x) = 1 / (2 alpha (1/alpha + |x|)^2)."""
    _op = "soft_sign"
    spiking_function = staticmethod(_ops.soft_sign)
    primitive_function = staticmethod(_ops.soft_sign_primitive)

    def __init__(self, alpha=2.0, spiking=True):
        super().__init__(alpha, spiking)


class ATan(SurrogateFunctionBase):
    """g(x) = atan(pi/2 alpha x)/pi + 1/2.  g'(x) = alpha/2 / (1 + (pi/2 alpha x)^2)."""
    _op = "atan"
    spiking_function = staticmethod(_ops.atan)
    primitive_function = staticmethod(_ops.atan_primitive)

    def __init__(self, alpha=2.0, spiking=True):
        super().__init__(alpha, spiking)


class NonzeroSignLogAbs(SurrogateFunctionBase):
    """g(x) = s log(alpha s x + 1), s = 1 for x >= 0 else -1.  g'(x) = 1 / (1/alpha + |x|).
    The primitive's range is not (0, 1)."""
    _op = "nonzero_sign_log_abs"
    spiking_function = staticmethod(_ops.nonzero_sign_log_abs)
    primitive_function = staticmethod(_ops.nonzero_sign_log_abs_primitive)

    def __init__(self, alpha=1.0, spiking=True):
        super().__init__(alpha, spiking)


class Erf(SurrogateFunctionBase):
    """g(x) = erfc(-alpha x)/2.  g'(x) = alpha/sqrt(pi) exp(-alpha^2 x^2)."""
    _op = "erf"
    spiking_function = staticmethod(_ops.erf)
    primitive_function = staticmethod(_ops.erf_primitive)

    def __init__(self, alpha=2.0, spiking=True):
        super().__init__(alpha, spiking)


class QPseudoSpike(SurrogateFunctionBase):
    """g'(x) = (1 + 2|x|/(alpha-1))^(-alpha), alpha > 1.
    g(x) = (1 - 2x/(alpha-1))^(1-alpha)/2 for x < 0; 1 - (1 + 2x/(alpha-1))^(1-alpha)/2 for x >= 0."""
    _op = "q_pseudo_spike"
    spiking_function = staticmethod(_ops.q_pseudo_spike)
    primitive_function = staticmethod(_ops.q_pseudo_spike_primitive)

    def __init__(self, alpha=2.0, spiking=True):
        super().__init__(alpha, spiking)


class PiecewiseLeakyReLU(MultiArgsSurrogateFunctionBase):
    """g'(x) = 1/(2w) for |x| < w, else c (SpikingJelly <= 0.0.0.0.14 used 1/w inside).
    g(x) = c x + c w for x < -w; x/(2w) + 1/2 for |x| <= w; c x - c w + 1 for x > w."""
    _op = "piecewise_leaky_relu"
    spiking_function = staticmethod(_ops.piecewise_leaky_relu)
    primitive_function = staticmethod(_ops.piecewise_leaky_relu_primitive)

    def __init__(self, w=1.0, c=0.01, spiking=True):
        super().__init__(spiking)
        self._init_params(spiking, w=w, c=c)

    def forward(self, x: Tensor) -> Tensor:
        if self.spiking:
            return self.spiking_function(x, self.w, self.c)
        return self.primitive_function(x, self.w, self.c)


class SquarewaveFourierSeries(MultiArgsSurrogateFunctionBase):
    """g(x) = 1/2 + 2/pi sum_{i=1}^{n-1} sin((2i-1) w x)/(2i-1), w = 2 pi / T_period.
    g'(x) = 4/T_period sum_{i=1}^{n-1} cos((2i-1) w x)."""
    _op = "squarewave_fourier_series"
    spiking_function = staticmethod(_ops.squarewave_fourier_series)
    primitive_function = staticmethod(_ops.squarewave_fourier_series_primitive)

    def __init__(self, n: int = 2, T_period: float = 8, spiking=True):
        super().__init__(spiking)
        self._init_params(spiking, n=n, T_period=T_period)

    def forward(self, x: Tensor) -> Tensor:
        if self.spiking:
            return self.spiking_function(x, self.n, self.T_period)
        return self.primitive_function(x, self.n, self.T_period)


class S2NN(MultiArgsSurrogateFunctionBase):
    """g'(x) = alpha s (1 - s) for x < 0 (s = sigmoid(alpha x)); beta / (x + 1) for x >= 0.
    g(x) = sigmoid(alpha x) for x < 0; beta log(|x + 1| + 1e-5) + 1/2 for x >= 0."""
    _op = "s2nn"
    spiking_function = staticmethod(_ops.s2nn)
    primitive_function = staticmethod(_ops.s2nn_primitive)

    def __init__(self, alpha=4.0, beta=1.0, spiking=True):
        super().__init__(spiking)
        self._init_params(spiking, alpha=alpha, beta=beta)

    def forward(self, x: Tensor) -> Tensor:
        if self.spiking:
            return self.spiking_function(x, self.alpha, self.beta)
        return self.primitive_function(x, self.alpha, self.beta)


# --- The lowercase Function classes: ``atan.apply(x, alpha)`` and so on ------------------------

class _SpikeFunction(torch.autograd.Function):
    """heaviside(x) forward and the native surrogate-gradient backward of surrogate ``_op``."""

    _op: str

    @classmethod
    def forward(cls, ctx, x, *params):
        entry = registry.BY_OP[cls._op]
        params = entry.check(*(params + entry.defaults[len(params):]))
        ctx.save_for_backward(x)
        ctx.params = params
        return getattr(_ops, cls._op)(x, *params)

    @classmethod
    def backward(cls, ctx, grad_output):
        (x,) = ctx.saved_tensors
        grad_x = getattr(_ops, cls._op + "_backward")(grad_output, x, *ctx.params)
        return (grad_x,) + (None,) * len(ctx.params)


for _entry in registry.SURROGATES:
    globals()[_entry.op] = type(_entry.op, (_SpikeFunction,), {"_op": _entry.op, "__module__": __name__})
del _entry

__all__ = ["heaviside", "SurrogateFunctionBase", "MultiArgsSurrogateFunctionBase"] + [
    e.cls for e in registry.SURROGATES] + [e.op for e in registry.SURROGATES]
