"""Parity with the real library: spikingjelly 0.0.0.0.14's clock_driven.surrogate.

The one allowed difference is the PiecewiseLeakyReLU gradient inside [-w, w]: 1/(2w) here,
1/w there (see README). At infinite inputs SpikingJelly's `mask * formula` products give NaN
(0 * inf) where this library gives the formula's value, so those inputs are compared only where
SpikingJelly's result is finite.
"""
import pytest
import torch

import surrogate_ext
from surrogate_ext import registry
from conftest import edge_values, param_sets

sj = pytest.importorskip("spikingjelly.clock_driven.surrogate")


def _sj_grad(sj_module, x):
    x = x.clone().requires_grad_(True)
    sj_module(x).sum().backward()
    return x.grad


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("entry,params", [p for p in param_sets() if p.values[0].origin == registry.SJ14])
def test_matches_spikingjelly(entry, params, dtype):
    x = edge_values(entry, params).to(dtype)
    ours_spiking = getattr(surrogate_ext, entry.cls)(*params)
    ours_primitive = getattr(surrogate_ext, entry.cls)(*params, spiking=False)
    theirs_spiking = getattr(sj, entry.cls)(*params)
    theirs_primitive = getattr(sj, entry.cls)(*params, spiking=False)
    # SpikingJelly's primitives, and its gradients at inf, may be NaN where ours are finite.
    finite = x.isfinite()
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-9, atol=1e-12)

    assert torch.equal(ours_spiking(x), theirs_spiking(x))

    ours_p, theirs_p = ours_primitive(x), theirs_primitive(x)
    keep = finite & theirs_p.isfinite() & (x.abs() < 1e3)
    torch.testing.assert_close(ours_p[keep], theirs_p[keep], **tol)

    ours_g, theirs_g = _sj_grad(ours_spiking, x), _sj_grad(theirs_spiking, x)
    if entry.op == "piecewise_leaky_relu":  # the fix: 1/(2w) inside, SpikingJelly 1/w
        w = params[0]
        inside = x.abs() < w
        torch.testing.assert_close(theirs_g[inside], 2 * ours_g[inside], **tol)
        inside = inside | x.isnan()
        torch.testing.assert_close(ours_g[~inside], theirs_g[~inside], **tol)
        return
    keep = (finite | theirs_g.isfinite()) & (x.abs() < 1e3)
    torch.testing.assert_close(ours_g[keep], theirs_g[keep], equal_nan=True, **tol)

    ours_pg, theirs_pg = _sj_grad(ours_primitive, x), _sj_grad(theirs_primitive, x)
    keep = finite & theirs_pg.isfinite() & (x.abs() < 1e3)
    for b in [0.0] + [p for p in params if isinstance(p, float)]:  # kinks: one-sided choices differ
        keep &= (x.abs() - abs(b)).abs() > 1e-6
    torch.testing.assert_close(ours_pg[keep], theirs_pg[keep], **tol)
