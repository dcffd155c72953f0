"""surrogate_ext.norse against Norse 1.1.0's norse.torch.functional.threshold, function by
function, and Norse's LIF neurons run on it (native_thresholds). The differences are the documented
ones (docs/norse.md)."""
import inspect
import math

import pytest
import torch

from conftest import same
from peer_parity import (PEER_TOLERANCES, ROOT, assert_grad_matches_oracle, parameters,
                         parity_inputs, run_python_blocks, spike_and_grad)
from surrogate_ext.norse.functional import threshold as ours

norse_threshold = pytest.importorskip("norse.torch.functional.threshold")
norse_torch = pytest.importorskip("norse.torch")

ROWS = {row.name: row for row in ours.FUNCTIONS}
PARAMS = {
    "super_fn": [(), (1.0,), (2.5,)], "heavi_erfc_fn": [(2.0,), (0.7,)],
    "heavi_tanh_fn": [(2.0,), (0.7,)], "heavi_circ_fn": [(1.0,), (0.3,)],
    "triangle_fn": [(), (2.0,), (-0.5,)], "logistic_fn": [(2.0,), (0.5,)],
    "circ_dist_fn": [(0.5,), (2.0,)],
}
CASES = [pytest.param(ROWS[name], p, id=f"{name}{p}") for name, ps in PARAMS.items() for p in ps]
DTYPES = [torch.float32, torch.float64]
STOCHASTIC = [name for name, row in ROWS.items() if row.stochastic]


def norse_grad(name, params, x):
    """Norse's own gradient of `name`; super_fn's ignores alpha (Norse 1.1.0 as coded)."""
    return spike_and_grad(lambda t: getattr(norse_threshold, name)(t, *params), x)[1]


def documented_difference(name, x):
    """Where Norse's gradient is NaN and ours is not (docs/norse.md): circ once x^2 overflows."""
    if name in ("heavi_circ_fn", "circ_dist_fn"):
        return (x * x).isinf()
    return torch.zeros_like(x, dtype=torch.bool)


def test_every_function_of_norse_is_here():
    names = {n for n, f in vars(norse_threshold).items()
             if inspect.isfunction(f) and not n.startswith("_")}
    assert names <= set(ours.__all__)
    assert set(ROWS) | {"superspike_fn"} <= names


@pytest.mark.parametrize("name", sorted(set(ours.__all__) - {"native_thresholds"}))
def test_signature_and_defaults_are_norses(name):
    assert parameters(getattr(ours, name)) == parameters(getattr(norse_threshold, name))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("row,params", CASES)
def test_matches_norse(row, params, dtype):
    """The spike bit for bit (x > 0; +-0 and NaN give 0; the stochastic ones: the same draws as
    Norse's), in x's dtype; the gradient against the float64 oracle and against Norse's own."""
    op_params, grad_scale = row.bind(*params)
    x = parity_inputs(row, op_params, dtype, extra=(1e13, -1e13, 1e20, -1e20, 1e-30, 7.2, 30.0))
    fn = getattr(ours, row.name)
    if row.stochastic:  # Norse's probability is NaN at +-inf and NaN, which it rejects
        x = x[x.isfinite()]
        torch.manual_seed(3)
        spikes, grad = spike_and_grad(lambda t: fn(t, *params), x)
        torch.manual_seed(3)
        theirs = getattr(norse_threshold, row.name)(x, *params)
        overflow = documented_difference(row.name, x)  # Norse's p is 1/2 there
        assert same(spikes[~overflow], theirs[~overflow]) and 0 < spikes.mean() < 1
        assert same(spikes[overflow], (x[overflow] > 0).to(dtype))
    else:
        spikes, grad = spike_and_grad(lambda t: fn(t, *params), x)
        assert same(spikes, (x > 0).to(dtype))
        assert same(spikes, getattr(norse_threshold, row.name)(x, *params))
    assert spikes.dtype == dtype
    assert_grad_matches_oracle(row, op_params, grad_scale, x, grad)

    theirs = norse_grad(row.name, params, x)
    if row.name == "super_fn":  # Norse's is ours at alpha = 1, whatever alpha is
        _, grad = spike_and_grad(lambda t: fn(t, 1.0), x)
    differs = documented_difference(row.name, x)
    assert theirs[differs].isnan().all() and not grad[differs].isnan().any()
    torch.testing.assert_close(grad[~differs], theirs[~differs], equal_nan=True,
                               **PEER_TOLERANCES[dtype])


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_super_fn_fix_alpha_is_used(dtype):
    """The paper's and Norse's documented 1/(alpha |x| + 1)^2; Norse 1.1.0 computes 1/(|x| + 1)^2
    for every alpha, which alpha = 1 reproduces."""
    x = torch.tensor([-2.0, -0.5, 0.0, 0.01, 0.5, 3.0], dtype=dtype)
    for alpha in (100.0, 2.5, torch.tensor(100.0), 0.0):
        _, grad = spike_and_grad(lambda t: ours.super_fn(t, alpha), x)
        torch.testing.assert_close(grad, 1 / (float(alpha) * x.abs() + 1) ** 2)
        assert same(norse_grad("super_fn", (alpha,), x), 1 / (x.abs() + 1) ** 2)
        at_one = spike_and_grad(lambda t: ours.super_fn(t, 1.0), x)[1]
        assert same(norse_grad("super_fn", (alpha,), x), at_one)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_circ_fix_no_nan_and_no_cancellation(dtype):
    """Norse's -x^2/(2 (alpha^2 + x^2)^1.5) + 1/(2 sqrt(alpha^2 + x^2)) times 2 alpha cancels for
    |x| >> alpha and is NaN once x^2 overflows; ours is alpha^3 / (x^2 + alpha^2)^1.5."""
    alpha = 0.5
    x = torch.tensor([30.0, 1e4, 1e20, math.inf, -math.inf], dtype=dtype)
    _, grad = spike_and_grad(lambda t: ours.heavi_circ_fn(t, alpha), x)
    exact = alpha ** 3 / (x.double() ** 2 + alpha ** 2) ** 1.5
    torch.testing.assert_close(grad, exact.to(dtype), rtol=1e-6, atol=0)
    theirs = norse_grad("heavi_circ_fn", (alpha,), x)
    assert theirs[3:].isnan().all()
    if dtype == torch.float32:
        assert abs(theirs[0] / exact[0] - 1) > 1e-4  # 2e-4 off at x = 60 alpha
        assert theirs[1] == 0 and theirs[2].isnan()


def test_tanh_fix_no_cancellation():
    """Norse's 1 - tanh(k x)^2 in float32: 1.6 % off at k x = 7.2, 0 beyond |k x| = 9.01."""
    x = torch.tensor([3.6, 4.51, -6.0])
    _, grad = spike_and_grad(lambda t: ours.heavi_tanh_fn(t, 2.0), x)
    exact = 1 / torch.cosh(2 * x.double()) ** 2
    torch.testing.assert_close(grad, exact.float(), rtol=2e-5, atol=0)
    theirs = norse_grad("heavi_tanh_fn", (2.0,), x)
    assert abs(theirs[0] / exact[0] - 1) > 0.015 and theirs[1] == 0 and theirs[2] == 0


def test_heavi_erfc_fix_float64_sqrt_pi():
    """Norse divides by torch.as_tensor(np.pi).sqrt(), a float32 value, also in float64."""
    x = torch.tensor([0.0, 0.3, -1.2], dtype=torch.float64)
    _, grad = spike_and_grad(lambda t: ours.heavi_erfc_fn(t, 2.0), x)
    exact = 2 / math.sqrt(math.pi) * torch.exp(-(2 * x) ** 2)
    torch.testing.assert_close(grad, exact, rtol=1e-14, atol=0)
    theirs = norse_grad("heavi_erfc_fn", (2.0,), x)
    assert torch.allclose(theirs, exact, rtol=1e-7) and not torch.allclose(theirs, exact, rtol=1e-9)


def test_circ_dist_fires_with_probability_1_or_0_far_out():
    """Once x^2 overflows, Norse's probability 1/2 + x / (2 sqrt(x^2 + alpha^2)) is 1/2 (x / inf);
    ours is 1 (x > 0) and 0 (x < 0), +-inf included, where Norse's is NaN. At NaN both
    probabilities are NaN: ours raises ValueError, Norse torch.distributions' ValueError
    (RuntimeError with its validation off)."""
    x = torch.tensor([1e20, -1e20, 1e30, -1e30, math.inf, -math.inf] * 50)
    assert same(ours.circ_dist_fn(x, 0.5), (x > 0).float())
    torch.manual_seed(0)
    finite = x[x.isfinite()]
    assert norse_threshold.circ_dist_fn(finite, 0.5).mean().item() == pytest.approx(0.5, abs=0.15)
    with pytest.raises((ValueError, RuntimeError)):  # RuntimeError: validation off
        norse_threshold.circ_dist_fn(torch.tensor([math.inf]), 0.5)
    x = torch.tensor([math.nan])
    with pytest.raises(ValueError, match="probability g\\(x\\) must lie in"):
        ours.circ_dist_fn(x, 0.5)
    with pytest.raises((ValueError, RuntimeError)):
        norse_threshold.circ_dist_fn(x, 0.5)


@pytest.mark.parametrize("name", STOCHASTIC)
def test_stochastic_forward_fires_with_norses_probability(name):
    """Bernoulli(p) with Norse's p (the mean over many draws), from torch's generator."""
    x = torch.linspace(-2, 2, 9).repeat(4000, 1)
    torch.manual_seed(0)
    rate = getattr(ours, name)(x, 0.7).mean(0)
    p = (0.5 + 0.5 * torch.tanh(0.7 * x[0]) if name == "logistic_fn"
         else 0.5 + 0.5 * x[0] / (x[0] ** 2 + 0.7 ** 2).sqrt())
    torch.testing.assert_close(rate, p, rtol=0, atol=0.03)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("method", list(ours.METHODS))
def test_threshold_and_sign_match_norse(method, dtype):
    """Each method dispatches to its function; alpha may be a float or a 0-d tensor."""
    row = ROWS.get(ours.METHODS[method], ROWS["super_fn"])
    alpha = 1.0 if method in ("super", "heaviside") else 0.7  # Norse's super ignores alpha
    x = parity_inputs(row, row.bind(alpha)[0], dtype)
    x = x[x.isfinite()]
    differs = documented_difference(ours.METHODS[method], x)
    for ours_fn, theirs_fn in ((ours.threshold, norse_threshold.threshold),
                               (ours.sign, norse_threshold.sign)):
        for a in (alpha, torch.tensor(alpha)):
            if method == "heaviside":  # not differentiable, in Norse too
                xg = x.clone().requires_grad_(True)
                spikes, their_spikes = ours_fn(xg, method, a), theirs_fn(xg, method, a)
                assert same(spikes, their_spikes) and not spikes.requires_grad
                continue
            spikes, grad = spike_and_grad(lambda t: ours_fn(t, method, a), x)
            their_spikes, their_grad = spike_and_grad(lambda t: theirs_fn(t, method, a), x)
            assert same(spikes, their_spikes)
            torch.testing.assert_close(grad[~differs], their_grad[~differs], **PEER_TOLERANCES[dtype])


def test_heaviside_matches_norse():
    for dtype in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
        x = torch.tensor([-1.0, -0.0, 0.0, 1e-30, 2.0, math.nan, math.inf, -math.inf], dtype=dtype)
        assert same(ours.heaviside(x), norse_threshold.heaviside(x))
    assert not ours.heaviside(torch.ones(2, requires_grad=True)).requires_grad


INTEGER_INPUTS = [torch.tensor([3, 0, -2, 1]), torch.tensor([True, False, True]),
                  torch.tensor([-1, 5], dtype=torch.int8), torch.tensor([7, 0], dtype=torch.uint8)]


@pytest.mark.parametrize("x", INTEGER_INPUTS, ids=lambda x: str(x.dtype))
def test_integer_and_bool_tensors_spike_in_their_dtype(x):
    """Regression: Norse's heaviside, threshold and deterministic *_fn take integer and bool
    tensors and return x > 0 in x's dtype (norse.torch.functional.logical relies on it); ours
    raised TypeError. The stochastic ones draw from x as a float tensor, as Norse's do."""
    assert same(ours.heaviside(x), norse_threshold.heaviside(x))
    for method, name in ours.METHODS.items():
        assert same(ours.threshold(x, method, 2.0), norse_threshold.threshold(x, method, 2.0)), method
        assert same(ours.sign(x, method, 2.0), norse_threshold.sign(x, method, 2.0)), method
        if name != "heaviside":
            assert same(getattr(ours, name)(x, 2.0), getattr(norse_threshold, name)(x, 2.0)), name
    for name in STOCHASTIC:
        z = getattr(ours, name)(x, 0.5)
        assert z.dtype == norse_threshold.heavi_tanh_fn(x.float(), 1.0).dtype
        assert ((z == 0) | (z == 1)).all()


def test_norse_logical_under_native_thresholds():
    """Regression (the issue's repro): Norse's own logical_or and muller_c on integer tensors."""
    logical = pytest.importorskip("norse.torch.functional.logical")
    a, b = torch.tensor([1, 0, 0, 1]), torch.tensor([1, 0, 0, 0])
    expected = logical.logical_or(a, b), logical.muller_c(a, b, torch.tensor([0, 1, 0, 1]))
    with ours.native_thresholds():
        got = logical.logical_or(a, b), logical.muller_c(a, b, torch.tensor([0, 1, 0, 1]))
    for g, e in zip(got, expected):
        assert same(g, e)


def test_super_alpha_zero_is_the_formula_limit():
    """Regression: super at alpha = 0 (Norse's own tests use it) is 1/(0 |x| + 1)^2 = 1, defined;
    ours raised. Negative and non-finite alpha still raise, naming it."""
    x = torch.tensor([-3.0, -0.5, 0.0, 0.25, 8.0], dtype=torch.float64)
    for fn in (lambda t: ours.super_fn(t, 0.0), lambda t: ours.threshold(t, "super", 0.0)):
        z, grad = spike_and_grad(fn, x)
        assert same(z, (x > 0).to(x.dtype))
        assert same(grad, torch.ones_like(x))
    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="^super_fn: alpha must be finite and >= 0"):
            ours.super_fn(x, bad)


def test_unknown_method_raises_norses_error():
    x = torch.ones(2)
    with pytest.raises(ValueError) as theirs:
        norse_threshold.threshold(x, "logistic", 1.0)
    with pytest.raises(ValueError) as mine:
        ours.threshold(x, "logistic", 1.0)
    assert str(mine.value) == str(theirs.value)


@pytest.mark.parametrize("name", list(ROWS))
def test_bad_parameters_raise_naming_the_parameter(name):
    row = ROWS[name]
    x = torch.ones(3)
    for p in row.params:
        zero = [] if row.zero_ok(p.name) else [0.0]
        for value in [math.nan, math.inf, -math.inf] + (zero + [-1.0] if p.positive else []):
            with pytest.raises(ValueError, match=f"^{name}: {p.name} must be finite"):
                getattr(ours, name)(x, **{p.name: value})
    with pytest.raises(ValueError, match="^heavi_tanh_fn: k must be finite and > 0, got 0.0"):
        ours.threshold(x, "tanh", torch.tensor(0.0))


# --- Norse's neurons ------------------------------------------------------------------------------

def _lif_run(method, alpha, cell=False, context=None):
    """Linear(5, 4) -> Norse's LIF (or LIFCell over the steps) for 20 steps, in float64; the spikes
    and the gradients of the weights and the input."""
    torch.manual_seed(0)
    fc = torch.nn.Linear(5, 4).double()
    x = (torch.rand(20, 3, 5, dtype=torch.float64) * 8).requires_grad_(True)
    p = norse_torch.LIFParameters(method=method, alpha=torch.as_tensor(alpha))
    with context or torch.enable_grad():
        if cell:
            lif, state, z = norse_torch.LIFCell(p), None, []
            for t in range(x.shape[0]):
                zt, state = lif(fc(x[t]), state)
                z.append(zt)
            z, v = torch.stack(z), state.v
        else:
            z, state = norse_torch.LIF(p)(fc(x))
            v = state.v
    (z.sum(0) * torch.linspace(0.5, 1.5, 4, dtype=torch.float64)).sum().add(v.sum()).backward()
    return z.detach(), fc.weight.grad, x.grad


@pytest.mark.parametrize("cell", [False, True], ids=["LIF", "LIFCell"])
@pytest.mark.parametrize("method", list(ours.METHODS))
def test_norse_lif_runs_the_same_on_native_thresholds(method, cell):
    alpha = dict(super=100.0, triangle=0.3, tanh=2.0, circ=0.5, heavi_erfc=2.0).get(method, 1.0)
    theirs = _lif_run(method, alpha, cell)
    mine = _lif_run(method, alpha, cell, ours.native_thresholds(norse_superspike=True))
    assert torch.equal(mine[0], theirs[0]) and mine[0].sum() > 0
    # heavi_erfc: Norse's float32 sqrt(pi), 1.5e-8 relative in each term
    tolerance = dict(rtol=1e-7, atol=1e-8) if method == "heavi_erfc" else dict(rtol=1e-10, atol=1e-12)
    for a, b in zip(mine[1:], theirs[1:]):
        torch.testing.assert_close(a, b, **tolerance)
    if method == "super":  # the documented difference: alpha is used ...
        default = _lif_run(method, alpha, cell, ours.native_thresholds())
        assert torch.equal(default[0], theirs[0])
        assert not torch.allclose(default[1], theirs[1], rtol=1e-3)
        at_one = _lif_run(method, 1.0, cell, ours.native_thresholds())  # ... alpha = 1 is Norse's
        for a, b in zip(at_one[1:], theirs[1:]):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def _routed_now():
    import norse.torch.functional.lif as lif_module
    return lif_module.threshold


def test_native_thresholds_restores_norse_and_nests():
    import norse.torch.functional.lif as lif_module
    original, originals = lif_module.threshold, dict(vars(norse_torch))
    with ours.native_thresholds():
        assert _routed_now() is ours.threshold
        assert norse_torch.heavi_erfc_fn is ours.heavi_erfc_fn
        assert norse_threshold.sign is ours.sign and norse_threshold.superspike_fn is ours.super_fn
        with ours.native_thresholds(norse_superspike=True):
            assert _routed_now() is ours._norse_threshold
            assert norse_torch.super_fn is ours._norse_super_fn
        assert _routed_now() is ours.threshold and norse_torch.super_fn is ours.super_fn
    assert _routed_now() is original
    with pytest.raises(RuntimeError, match="inside"):
        with ours.native_thresholds():
            raise RuntimeError("inside")
    assert _routed_now() is original
    assert all(vars(norse_torch)[k] is v for k, v in originals.items())


# --- the docs ------------------------------------------------------------------------------------

def test_docs_examples_run():
    run_python_blocks(ROOT / "docs" / "norse.md")


def test_docs_list_every_function_and_difference():
    text = (ROOT / "docs" / "norse.md").read_text()
    for name in list(ROWS) + ["threshold", "sign", "heaviside", "native_thresholds"]:
        assert f"`{name}" in text
    for needle in ("1/(|x| + 1)^2", "sqrt(pi)", "NaN", "ValueError", "norse_superspike"):
        assert needle in text
