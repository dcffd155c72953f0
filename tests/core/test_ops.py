"""Native operators against the float64 reference, for every surrogate, dtype, layout and edge value."""
import pytest
import torch

from surrogate_ext import registry
from conftest import DEVICES, DTYPES, assert_close_to_oracle, edge_values, op, param_sets, same


def layouts(x):
    """The same values as x (1-d, n elements) in several memory layouts."""
    n = x.numel()
    yield "contiguous", x
    yield "zero-dim", x[0].clone()
    yield "empty", x[:0].reshape(0, 3)
    m = n - n % 4
    yield "transposed", x[:m].reshape(4, m // 4).t()
    yield "strided", torch.stack([x, torch.zeros_like(x)], 1)[:, 0]


def _apply(fn, t, *args):
    return fn(t, *args)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("entry,params", param_sets())
def test_forward_and_backward_match_reference(entry, params, dtype, device):
    values = edge_values(entry, params).to(dtype).to(device)
    for layout, x in layouts(values):
        what = f"{entry.op}{params} {dtype} {layout}"
        spikes = op(entry.op)(x, *params)
        assert spikes.shape == x.shape and spikes.dtype == dtype
        assert same(spikes, entry.spike(x, *params)), f"{what}: spiking forward is not exact"
        assert_close_to_oracle(op(entry.op + "_primitive")(x, *params), x,
                               lambda t: entry.primitive(t, *params), what=what + " primitive")
        g = torch.linspace(-1, 1, x.numel(), dtype=torch.float64).reshape(x.shape).to(dtype).to(device)
        assert_close_to_oracle(op(entry.op + "_backward")(g, x, *params), x,
                               lambda t: g.double() * entry.grad(t, *params), what=what + " backward")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("entry,params", param_sets())
def test_expanded_grad_output(entry, params, device):
    """.sum().backward() hands the backward a grad_output with stride 0."""
    x = torch.randn(5, 7, dtype=torch.float64, device=device, requires_grad=True)
    op(entry.op)(x, *params).sum().backward()
    torch.testing.assert_close(x.grad, entry.grad(x.detach(), *params), rtol=1e-12, atol=1e-12)
    g = torch.ones((), dtype=torch.float64, device=device).expand(5, 7)
    assert g.stride() == (0, 0)
    torch.testing.assert_close(op(entry.op + "_backward")(g, x.detach(), *params),
                               entry.grad(x.detach(), *params), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("entry,params", param_sets())
def test_expanded_grad_output_every_dtype(entry, params, dtype, device):
    """The broadcast grad_output's own SIMD loop: every dtype, a vector body and a tail."""
    x = edge_values(entry, params).to(dtype).to(device)
    for scale in (1.0, -0.5):
        g = torch.full((), scale, dtype=dtype, device=device).expand(x.shape)
        assert_close_to_oracle(op(entry.op + "_backward")(g, x, *params), x,
                               lambda t: scale * entry.grad(t, *params), what=f"{entry.op} {dtype} g={scale}")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("alpha", [1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 11.0, 16.0, 17.0, 18.0, 20.5])
def test_q_pseudo_spike_every_exponent(alpha, dtype, device):
    """Integer exponents up to 16 multiply (one straight sequence per exponent), others use exp/log."""
    entry = next(e for e in registry.SURROGATES if e.op == "q_pseudo_spike")
    x = edge_values(entry, (alpha,)).to(dtype).to(device)
    g = torch.linspace(-1, 1, x.numel(), dtype=torch.float64).to(dtype).to(device)
    assert_close_to_oracle(op("q_pseudo_spike_backward")(g, x, alpha), x,
                           lambda t: g.double() * entry.grad(t, alpha), what=f"alpha={alpha} {dtype} backward")
    assert_close_to_oracle(op("q_pseudo_spike_primitive")(x, alpha), x,
                           lambda t: entry.primitive(t, alpha), what=f"alpha={alpha} {dtype} primitive")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_squarewave_reduction_is_exact(dtype, device):
    """At x = (T/2) j the default gradient 4/T cos(pi 2x/T) is exactly 4/T (-1)^j, however large j."""
    js = [0, 1, 2, 3, 5, 7, 255, 2**10 + 1, 2**20 + 1, 2**22 + 1, 2**23 + 1, 2**24 + 2, 2**30 + 1,
          2**31 + 2**8, 2**32 + 2**9, 3 * 2**40, 2**100, 2**120]
    values = [4.0 * j for j in js] + [-4.0 * j for j in js]
    x = torch.tensor(values, dtype=torch.float64).to(dtype)
    x = x[x.double() == torch.tensor(values, dtype=torch.float64)]  # the j this dtype holds exactly
    x = x.repeat(4)  # a vector body and a tail for every dtype
    parity = torch.tensor([int(v) // 4 % 2 for v in x.double().tolist()], dtype=torch.float64)
    expected = 0.5 * (1 - 2 * parity)
    for layout, t in [("contiguous", x), ("strided", torch.stack([x, x], 1)[:, 0])]:
        t = t.to(device)
        got = op("squarewave_fourier_series_backward")(torch.ones_like(t), t, 2, 8.0)
        assert torch.equal(got.double().cpu(), expected), f"{dtype} {layout}: {got} != {expected}"


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_heaviside_is_bit_exact(dtype, device):
    x = torch.tensor([0.0, -0.0, 1e-30, -1e-30, 1.0, -1.0, float("inf"), -float("inf"), float("nan")],
                     dtype=torch.float64).to(dtype).to(device)
    x = torch.cat([x, torch.randn(1000, device=device).to(dtype)])
    y = torch.ops.surrogate_ext.heaviside(x)
    assert y.dtype == dtype
    assert torch.equal(y, (x >= 0).to(dtype))
    assert y[-1001].item() == 0.0  # NaN gives 0


def test_heaviside_is_not_differentiable():
    x = torch.randn(4, requires_grad=True)
    assert not torch.ops.surrogate_ext.heaviside(x).requires_grad


@pytest.mark.parametrize("entry,params", param_sets())
def test_primitive_gradcheck(entry, params):
    x = torch.randn(64, dtype=torch.float64)
    # keep away from the breakpoints, where the primitive is not differentiable
    from conftest import breakpoints
    for b in breakpoints(entry, params):
        x = torch.where((x - b).abs() < 1e-3, x + 3e-3, x)
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: op(entry.op + "_primitive")(t, *params), (x,))


@pytest.mark.parametrize("entry,params", param_sets())
def test_primitive_backward_is_autograd_of_reference_primitive(entry, params):
    x = (torch.randn(256, dtype=torch.float64) * 2).requires_grad_(True)
    entry.primitive(x, *params).sum().backward()
    expected = x.grad.clone()
    x.grad = None
    op(entry.op + "_primitive")(x, *params).sum().backward()
    torch.testing.assert_close(x.grad, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("entry,params", param_sets())
def test_spiking_gradient_equals_primitive_gradient(entry, params):
    """The surrogate gradient is the derivative of the primitive (within 1e-4: S2NN's
    primitive carries a 1e-5 inside its log)."""
    x = torch.tensor([-0.75, -0.25, 0.25, 0.75] + torch.linspace(-2, 2, 101).tolist(),
                     dtype=torch.float64, requires_grad=True)
    op(entry.op)(x, *params).sum().backward()
    spiking_grad = x.grad.clone()
    x.grad = None
    op(entry.op + "_primitive")(x, *params).sum().backward()
    if entry.primitive_grad is not entry.grad:  # by design (MultiLevelSpikeCount's window)
        spiking_grad = entry.primitive_grad(x.detach(), *params)
    torch.testing.assert_close(spiking_grad, x.grad, rtol=0, atol=1e-4)


@pytest.mark.parametrize("suffix", ["", "_primitive"])
@pytest.mark.parametrize("entry,params", param_sets())
def test_double_backward_raises(entry, params, suffix):
    x = torch.randn(8, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(op(entry.op + suffix)(x, *params).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="double backward is not supported"):
        g.sum().backward()


@pytest.mark.parametrize("suffix", ["", "_primitive"])
@pytest.mark.parametrize("entry,params", param_sets())
def test_autograd_saves_only_x(entry, params, suffix):
    saved = []

    def pack(t):
        saved.append(t)
        return t

    x = torch.randn(16, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = op(entry.op + suffix)(x, *params)
    assert len(saved) == 1 and saved[0] is x
    assert y.requires_grad
    with torch.no_grad():
        assert not op(entry.op + suffix)(x, *params).requires_grad


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["piecewise_exp", "sigmoid", "s2nn", "erf"])
def test_exp_gradients_through_the_float_underflow(name, device):
    """The exp-based gradients in float32 as their exp falls below the smallest normal float (the
    AVX2 exp2 builds 2^n in the exponent bits): within rtol while the result is well inside the
    normal range (>= 2^-120, so the exp is normal whatever the prefactor), then between 0 and
    2^-120 (no sign or exponent garbage), and 0 where even the exp rounds to 0 (< 2^-155).
    x <= 0: the exp side of S2NN, and where the float64 oracle's sigmoid has no 1 - s cancellation."""
    entry = registry.BY_OP[name]
    x = torch.linspace(-120, 0, 200001, dtype=torch.float64).float()
    got = op(name + "_backward")(torch.ones_like(x).to(device), x.to(device), *entry.example_params).cpu().double()
    expected = entry.grad(x.double(), *entry.example_params)
    normal = expected >= 2.0 ** -120
    rel = ((got - expected).abs() / expected)[normal]
    assert float(rel.max()) <= 2e-5, f"relative error {float(rel.max()):.3g}"
    tiny = got[~normal]
    assert bool(((tiny >= 0) & (tiny <= 2.0 ** -120)).all()), f"min {float(tiny.min())!r} max {float(tiny.max())!r}"
    assert bool((got[expected < 2.0 ** -155] == 0).all())


THRESHOLD = list(registry.THRESHOLD_SURROGATES)
THRESHOLD_IDS = [e.op for e in THRESHOLD]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("entry", THRESHOLD, ids=THRESHOLD_IDS)
def test_strict_forward_is_bit_exact(entry, dtype, device):
    """strict=True fires on x > 0 (snnTorch's and Norse's convention): x = +-0 and NaN give 0."""
    values = edge_values(entry, entry.example_params).to(dtype).to(device)
    for layout, x in layouts(values):
        got = op(entry.op)(x, *entry.example_params, strict=True)
        assert torch.equal(got, (x > 0).to(dtype)), f"{entry.op} {dtype} {layout}"
    zeros = torch.tensor([0.0, -0.0, float("nan")], dtype=dtype, device=device)
    assert op(entry.op)(zeros, *entry.example_params, strict=True).tolist() == [0.0, 0.0, 0.0]
    assert torch.ops.surrogate_ext.heaviside(zeros, strict=True).tolist() == [0.0, 0.0, 0.0]
    assert torch.ops.surrogate_ext.heaviside(zeros).tolist() == [1.0, 1.0, 0.0]


@pytest.mark.parametrize("entry,params", param_sets())
def test_grad_scale_multiplies_the_gradient(entry, params):
    x = (torch.randn(257, dtype=torch.float64) * 2).requires_grad_(True)
    g = torch.randn(257, dtype=torch.float64)
    for scale in (0.04, -3.0):
        got = op(entry.op + "_backward")(g, x.detach(), *params, grad_scale=scale)
        torch.testing.assert_close(got, scale * g * entry.grad(x.detach(), *params), rtol=1e-12, atol=1e-14)
        (grad,) = torch.autograd.grad(op(entry.op)(x, *params, grad_scale=scale), x, g)
        torch.testing.assert_close(grad, got, rtol=0, atol=0)
    assert torch.equal(op(entry.op + "_backward")(g, x.detach(), *params, grad_scale=1.0),
                       op(entry.op + "_backward")(g, x.detach(), *params))
    for bad in (float("inf"), float("nan")):
        with pytest.raises(ValueError, match=f"{entry.op}: grad_scale must be finite"):
            op(entry.op)(x, *params, grad_scale=bad)
        with pytest.raises(ValueError, match=f"{entry.op}: grad_scale must be finite"):
            op(entry.op + "_backward")(g, x.detach(), *params, grad_scale=bad)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_stochastic_forward_draws_bernoulli_of_the_primitive(dtype):
    for entry, params in [(registry.BY_OP["sigmoid"], (2.0,)), (registry.BY_OP["heavi_circ"], (0.5,)),
                          (registry.BY_OP["deterministic_pass"], ())]:
        x = torch.linspace(-3, 3, 4001, dtype=torch.float64).to(dtype)
        if entry.op == "deterministic_pass":
            x = torch.linspace(0, 1, 4001, dtype=torch.float64).to(dtype)
        p = op(entry.op + "_primitive")(x, *params)
        torch.manual_seed(7)
        got = op(entry.op)(x, *params, stochastic=True)
        torch.manual_seed(7)
        assert torch.equal(got, torch.bernoulli(p)), entry.op
        assert got.dtype == dtype
        xg = x.clone().requires_grad_(True)
        op(entry.op)(xg, *params, stochastic=True).sum().backward()
        assert torch.equal(xg.grad, op(entry.op + "_backward")(torch.ones_like(x), x, *params))


def test_stochastic_forward_rejects_probabilities_outside_0_1():
    with pytest.raises(ValueError, match=r"deterministic_pass: with stochastic=True the firing "
                                         r"probability g\(x\) must lie in \[0, 1\], got values in \[-0.5, 2\]"):
        op("deterministic_pass")(torch.tensor([-0.5, 0.5, 2.0]), stochastic=True)
    with pytest.raises(ValueError, match="must lie in"):
        op("deterministic_pass")(torch.tensor([0.5, float("nan")]), stochastic=True)
    with pytest.raises(ValueError, match="must lie in"):  # NonzeroSignLogAbs's primitive is not a probability
        op("nonzero_sign_log_abs")(torch.tensor([5.0]), stochastic=True)
    with pytest.raises(ValueError, match="strict and stochastic exclude each other"):
        op("sigmoid")(torch.tensor([0.5]), strict=True, stochastic=True)
    assert op("deterministic_pass")(torch.empty(0, 2), stochastic=True).shape == (0, 2)


@pytest.mark.parametrize("entry", [e for e in registry.SURROGATES if not e.threshold], ids=lambda e: e.op)
def test_forward_of_its_own_rejects_strict_and_stochastic(entry):
    x = torch.randn(5)
    for kwargs in (dict(strict=True), dict(stochastic=True)):
        with pytest.raises(ValueError, match="apply to threshold forwards only"):
            op(entry.op)(x, *entry.example_params, **kwargs)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_stochastic_spike_operator(dtype):
    """snnTorch's SSO: the strict spike; the backward draws the gradient of non-firing units."""
    sso = torch.ops.surrogate_ext.stochastic_spike_operator
    x = torch.tensor([-1.0, 0.0, -0.0, 0.5, 2.0, float("nan")] * 50, dtype=dtype)
    assert torch.equal(sso(x, 0.1, 0.3), (x > 0).to(dtype))
    g = torch.linspace(-1, 1, x.numel(), dtype=dtype)
    torch.manual_seed(3)
    got = torch.ops.surrogate_ext.stochastic_spike_operator_backward(g, x, 0.1, 0.3)
    torch.manual_seed(3)
    noise = (torch.rand_like(x) - 0.5 + 0.1) * 0.3
    out = (x > 0).to(dtype)
    assert torch.equal(got, g * out + (g * (1 - out)) * noise)
    xg = x.clone().requires_grad_(True)
    torch.manual_seed(3)
    sso(xg, 0.1, 0.3).backward(g)
    assert torch.equal(xg.grad, got)
    with pytest.raises(ValueError, match="stochastic_spike_operator: variance must be finite"):
        sso(x, 0.0, float("inf"))
