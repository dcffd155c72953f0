"""Shared parametrization: every test runs over the registry, never per surrogate by hand."""
import atexit
import math
import os
import shutil
import tempfile

import pytest
import torch

import surrogate_ext
from surrogate_ext import registry

# Inductor's on-disk cache, per test session: a cache from an earlier build of the operators (another
# schema) would otherwise be reused.
if "TORCHINDUCTOR_CACHE_DIR" not in os.environ:
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="surrogate_ext-inductor-")
    atexit.register(shutil.rmtree, os.environ["TORCHINDUCTOR_CACHE_DIR"], ignore_errors=True)

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

# Non-default parameters for each surrogate (the defaults are tested too).
OTHER_PARAMS = {
    "piecewise_quadratic": (0.5,), "piecewise_exp": (3.0,), "sigmoid": (2.0,), "soft_sign": (4.0,),
    "atan": (3.0,), "nonzero_sign_log_abs": (2.5,), "erf": (0.75,),
    "piecewise_leaky_relu": (0.5, 0.1), "squarewave_fourier_series": (4, 6.0),
    "s2nn": (2.0, 0.5), "q_pseudo_spike": (3.0,),
    "super_spike": (2.5,), "leaky_k_relu": (0.1, 0.5), "fake_numerical_gradient": (2.0,),
    "log_tailed_relu": (0.05,), "deterministic_pass": (), "rect": (2.0,), "triangular": (0.5,),
    "spike_rate_escape": (2.0, 10.0), "sparse_fast_sigmoid": (10.0, -0.5),
    "leaky_spike_operator": (0.0,), "heavi_circ": (0.5,), "multi_level_spike_count": (3, -0.5, 2.5),
}


def _param_sets():
    for entry in registry.SURROGATES:
        yield pytest.param(entry, entry.example_params, id=f"{entry.op}-default")
        yield pytest.param(entry, OTHER_PARAMS[entry.op], id=f"{entry.op}-other")


def param_sets():
    return list(_param_sets())


# Where each surrogate's piecewise definition switches branch, besides x = 0.
BREAKPOINTS = {
    "piecewise_quadratic": lambda p: [1 / p["alpha"], -1 / p["alpha"]],
    "piecewise_leaky_relu": lambda p: [p["w"], -p["w"]],
    "s2nn": lambda p: [-1.0],
    "fake_numerical_gradient": lambda p: [1 / p["alpha"], -1 / p["alpha"]],
    "log_tailed_relu": lambda p: [1.0],
    "rect": lambda p: [0.5 / p["alpha"], -0.5 / p["alpha"]],
    "spike_rate_escape": lambda p: [1.0],
    "sparse_fast_sigmoid": lambda p: [p["B"]],
    "multi_level_spike_count": lambda p: [float(p["max_spike_count"]), p["grad_min"], p["grad_max"],
                                          0.5, 1.5, 2.5],
}


def breakpoints(entry, params):
    """Where the surrogate's piecewise definition switches branch."""
    named = dict(zip(entry.param_names, params))
    return [0.0] + BREAKPOINTS.get(entry.op, lambda p: [])(named)


def edge_values(entry, params):
    """0, the breakpoints, +-0.25, +-0.75, +-inf, NaN, large magnitudes and a random spread."""
    special = breakpoints(entry, params) + [0.25, -0.25, 0.75, -0.75, 1e4, -1e4, 1e30, -1e30,
                                            math.inf, -math.inf, math.nan, -0.0]
    gen = torch.Generator().manual_seed(0)
    return torch.cat([torch.tensor(special, dtype=torch.float64),
                      torch.randn(500, generator=gen, dtype=torch.float64) * 2])


TOLERANCES = {  # (rtol, atol) of a native result against the float64 oracle
    torch.float64: (1e-9, 1e-12),
    torch.float32: (2e-5, 2e-6),
    torch.float16: (2e-3, 1e-4),
    torch.bfloat16: (1.6e-2, 1e-3),
}


def assert_close_to_oracle(actual, x, oracle, *, what=""):
    """Compares a native result (in x's dtype) with oracle(x in float64).

    The tolerance is rtol/atol of the dtype, plus, for |x| >= 8 (past every breakpoint), the
    oracle's own spread when x moves by up to 32 ulps, sampled at every ulp: there a periodic
    surrogate's argument ((2i-1) omega x) has lost its low digits, and past about 2^50 the float64
    oracle's cos is arbitrary (the native cospi reduces x exactly; test_squarewave_reduction_is_exact
    checks it where the exact value is known).
    """
    rtol, atol = TOLERANCES[x.dtype]
    x64 = x.double()
    expected = oracle(x64)
    eps = torch.finfo(x.dtype).eps
    sensitivity = torch.zeros_like(expected)
    far = x64.abs() >= 8
    if far.any():
        for f in [1 + k * eps for k in range(-32, 33) if k != 0]:
            sensitivity = torch.maximum(sensitivity, (oracle(x64 * f) - expected).abs().nan_to_num(0.0))
        sensitivity = torch.where(far, sensitivity, torch.zeros_like(sensitivity))
    # The oracle rounded to x's dtype is what an exact implementation would return.
    expected_rounded = expected.to(x.dtype).double()
    got = actual.double()
    err = (got - expected_rounded).abs()
    bound = atol + rtol * expected_rounded.abs() + sensitivity
    same_nan = got.isnan() == expected_rounded.isnan()
    both_inf_equal = (got == expected_rounded)
    ok = same_nan & (got.isnan() | both_inf_equal | (err <= bound))
    if not bool(ok.all()):
        i = int((~ok).flatten().nonzero()[0])
        raise AssertionError(f"{what}: {int((~ok).sum())} mismatches; first at x={x64.flatten()[i].item()!r}: "
                             f"native={got.flatten()[i].item()!r} oracle={expected_rounded.flatten()[i].item()!r} "
                             f"(bound {bound.flatten()[i].item():.3g})")


def op(name):
    return getattr(torch.ops.surrogate_ext, name)


def same(a, b) -> bool:
    """Equal element for element, NaN where the other is NaN (torch.equal is False for NaN)."""
    return a.shape == b.shape and a.dtype == b.dtype and bool(
        ((a == b) | (a.isnan() & b.isnan())).all())


def make_module(entry, params=None, spiking=True, namespace=surrogate_ext):
    """The row's class in `namespace` (surrogate_ext, surrogate_ext.activation_based, or
    SpikingJelly 2.0's surrogate module, whose constructors are the same), built from the row's
    parameter values (default: its example parameters), whatever its constructor's signature."""
    params = entry.example_params if params is None else params
    cls = getattr(namespace, entry.cls)
    if entry.op == "multi_level_spike_count":
        return cls(params[0], spiking, grad_window=params[1:])
    if entry.op == "fake_numerical_gradient":  # no spiking argument, as in SpikingJelly 2.0
        m = cls(*params)
        if not spiking:
            m.set_spiking_mode(False)
        return m
    return cls(*params, spiking=spiking)
