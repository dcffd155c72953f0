"""CUDA C++ snippets of the surrogate gradients, for kernels that splice them into their own code.

This is what ``<Surrogate>.cuda_code(x, y, dtype)`` returns, as in SpikingJelly: a few statements
that declare ``y`` as the surrogate gradient g'(x) of one surrogate, with its parameter values
baked in as literals. ``x`` names an existing variable, a ``float`` for dtype ``'fp32'`` or a
``half2`` for ``'fp16'``; helper variables are named ``<prefix>_...``; the snippet opens with a
``start_comment`` line and closes with an ``end_comment`` line.

Each formula is written once, in float (``_FP32``) and matches ``reference.<op>_grad``. The fp16
snippet is derived from it: both halves are converted to float, computed with the fp32 code and
rounded back to half2. The snippets use only math functions that nvcc compiles for both the device
and the host (plus ``cuda_fp16.h`` for fp16).
"""
from __future__ import annotations

import math
import re

from . import registry

__all__ = ["cuda_code", "float_literal"]


def float_literal(v) -> str:
    """A C float literal for the number ``v``: 2 -> ``2.0f``, 1e-5 -> ``1e-05f``, inf -> ``INFINITY``."""
    v = float(v)
    if math.isnan(v):
        return "NAN"
    if math.isinf(v):
        return "INFINITY" if v > 0 else "(-INFINITY)"
    text = repr(v) + "f"
    return f"({text})" if math.copysign(1.0, v) < 0 else text


_L = float_literal
_ATOM = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def _atom(x: str) -> str:
    """x as an operand: an identifier (or member access) as is, any other expression parenthesized."""
    return x if _ATOM.fullmatch(x) else f"({x})"


# The fp32 formulas: op -> function(x, prefix, *params) returning (helper declarations, value of y).
_FP32 = {}


def _fp32(op):
    def register(fn):
        _FP32[op] = fn
        return fn
    return register


@_fp32("piecewise_quadratic")
def _piecewise_quadratic(x, p, alpha):
    return ([f"const float {p}_x_abs = fabsf({x});"],
            f"{p}_x_abs > {_L(1 / alpha)} ? 0.0f : {_L(alpha)} - {_L(alpha * alpha)} * {p}_x_abs")


@_fp32("piecewise_exp")
def _piecewise_exp(x, p, alpha):
    return [], f"{_L(alpha / 2)} * expf({_L(-alpha)} * fabsf({x}))"


@_fp32("sigmoid")
def _sigmoid(x, p, alpha):
    # alpha s (1 - s) with s = sigmoid(alpha x), as alpha e / (1 + e)^2, e = exp(-alpha |x|):
    # no cancellation in 1 - s, and no inf / inf for large |x|.
    return ([f"const float {p}_e = expf({_L(-alpha)} * fabsf({x}));"],
            f"{_L(alpha)} * {p}_e / ((1.0f + {p}_e) * (1.0f + {p}_e))")


@_fp32("soft_sign")
def _soft_sign(x, p, alpha):
    return ([f"const float {p}_d = {_L(1 / alpha)} + fabsf({x});"],
            f"1.0f / ({_L(2 * alpha)} * {p}_d * {p}_d)")


@_fp32("atan")
def _atan(x, p, alpha):
    return ([f"const float {p}_kx = {_L(math.pi / 2 * alpha)} * {x};"],
            f"{_L(alpha / 2)} / (1.0f + {p}_kx * {p}_kx)")


@_fp32("nonzero_sign_log_abs")
def _nonzero_sign_log_abs(x, p, alpha):
    return [], f"1.0f / ({_L(1 / alpha)} + fabsf({x}))"


@_fp32("erf")
def _erf(x, p, alpha):
    return ([f"const float {p}_ax = {_L(alpha)} * {x};"],
            f"{_L(alpha / math.sqrt(math.pi))} * expf(-({p}_ax * {p}_ax))")


@_fp32("piecewise_leaky_relu")
def _piecewise_leaky_relu(x, p, w, c):
    return [], f"fabsf({x}) < {_L(w)} ? {_L(1 / (2 * w))} : {_L(c)}"


@_fp32("squarewave_fourier_series")
def _squarewave_fourier_series(x, p, n, T_period):
    if n == 1:
        return [f"(void){x};"], "0.0f"
    # g' has period T: reduce x exactly first, so that large |x| keeps float accuracy;
    # then cos((2i-1) w x) = cospi((2i-1) (2/T) r), which needs no rounded pi.
    terms = " + ".join(f"cospif({_L((2 * i - 1) * 2 / T_period)} * {p}_r)" for i in range(1, n))
    return ([f"const float {p}_r = remainderf({x}, {_L(T_period)});"],
            f"{_L(4 / T_period)} * ({terms})")


@_fp32("s2nn")
def _s2nn(x, p, alpha, beta):
    lines, sigmoid = _sigmoid(x, p, alpha)
    return lines, f"{x} < 0.0f ? {sigmoid} : {_L(beta)} / ({x} + 1.0f)"


@_fp32("q_pseudo_spike")
def _q_pseudo_spike(x, p, alpha):
    return [], f"powf(1.0f + {_L(2 / (alpha - 1))} * fabsf({x}), {_L(-alpha)})"


@_fp32("super_spike")
def _super_spike(x, p, alpha):
    return [f"const float {p}_d = 1.0f + fabsf({x});"], f"{_L(alpha)} / ({p}_d * {p}_d)"


@_fp32("leaky_k_relu")
def _leaky_k_relu(x, p, leak, k):
    return [], f"{x} >= 0.0f ? {_L(k)} : {_L(leak)}"


@_fp32("fake_numerical_gradient")
def _fake_numerical_gradient(x, p, alpha):
    # 1 / |x|: +inf at both zeros (-0.0 included), so the cap alpha applies there
    return [f"const float {p}_inv = 1.0f / fabsf({x});"], f"{p}_inv > {_L(alpha)} ? {_L(alpha)} : {p}_inv"


@_fp32("log_tailed_relu")
def _log_tailed_relu(x, p, alpha):
    return [], f"{x} > 1.0f ? 1.0f / {x} : ({x} <= 0.0f ? {_L(alpha)} : 1.0f)"


@_fp32("deterministic_pass")
def _deterministic_pass(x, p):
    return [f"(void){x};"], "1.0f"


@_fp32("rect")
def _rect(x, p, alpha):
    return [], f"fabsf({x}) < {_L(0.5 / alpha)} ? {_L(alpha)} : 0.0f"


@_fp32("triangular")
def _triangular(x, p, threshold):
    return [], f"{x} >= 0.0f ? {_L(-threshold)} : {_L(threshold)}"


@_fp32("spike_rate_escape")
def _spike_rate_escape(x, p, beta, slope):
    return [], f"{_L(slope)} * expf({_L(-beta)} * fabsf({x} - 1.0f))"


@_fp32("sparse_fast_sigmoid")
def _sparse_fast_sigmoid(x, p, slope, B):
    return ([f"const float {p}_d = {_L(slope)} * fabsf({x}) + 1.0f;"],
            f"{x} > {_L(B)} ? 1.0f / ({p}_d * {p}_d) : 0.0f")


@_fp32("leaky_spike_operator")
def _leaky_spike_operator(x, p, slope):
    return [], f"{x} > 0.0f ? 1.0f : {_L(slope)}"


@_fp32("heavi_circ")
def _heavi_circ(x, p, alpha):
    return ([f"const float {p}_q = 1.0f / ({x} * {x} + {_L(alpha * alpha)});"],
            f"{_L(alpha * alpha / 2)} * {p}_q * sqrtf({p}_q)")


@_fp32("multi_level_spike_count")
def _multi_level_spike_count(x, p, max_spike_count, grad_min, grad_max):
    return [], f"({x} >= {_L(grad_min)} && {x} <= {_L(grad_max)}) ? 1.0f : 0.0f"


def _fp32_lines(op, params, x, y, prefix):
    helpers, value = _FP32[op](_atom(x), prefix, *params)
    return helpers + [f"const float {y} = {value};"]


def cuda_code(op: str, params: tuple, x: str, y: str, dtype: str, prefix: str,
              start_comment: str, end_comment: str) -> str:
    """The CUDA snippet declaring ``y`` = g'(x) for surrogate ``op`` with ``params`` (registry order).

    ``dtype`` is ``'fp32'`` (``x`` a float, declares ``const float y``) or ``'fp16'`` (``x`` a
    half2, declares ``const half2 y``, computed in float). Raises ValueError for an unknown op or
    dtype, or for parameters the operator would reject.
    """
    entry = registry.BY_OP.get(op)
    if entry is None:
        raise ValueError(f"cuda_code: unknown surrogate {op!r}")
    params = tuple(params)
    if len(params) != len(entry.params):
        raise ValueError(f"cuda_code: {op} takes parameters {entry.param_names}, got {params!r}")
    entry.check(*params)
    if dtype == "fp32":
        body = _fp32_lines(op, params, x, y, prefix)
    elif dtype == "fp16":
        # Each half in float, in its own scope so that the fp32 helpers can be declared twice.
        body = [f"const float2 {prefix}_x2 = __half22float2({x});",
                f"float {prefix}_lo, {prefix}_hi;"]
        for half, out in (("x", "lo"), ("y", "hi")):
            inner = _fp32_lines(op, params, f"{prefix}_x2.{half}", f"{prefix}_y", prefix)
            body += ["{"] + ["    " + line for line in inner] + [f"    {prefix}_{out} = {prefix}_y;", "}"]
        body.append(f"const half2 {y} = __floats2half2_rn({prefix}_lo, {prefix}_hi);")
    else:
        raise ValueError(f"cuda_code: dtype must be 'fp32' or 'fp16', got {dtype!r}")
    return "\n".join([start_comment, *body, end_comment]) + "\n"
