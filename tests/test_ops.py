"""Native operators against the float64 reference, for every surrogate, dtype, layout and edge value."""
import pytest
import torch

from surrogate_ext import registry
from conftest import DEVICES, DTYPES, assert_close_to_oracle, edge_values, op, param_sets


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
        assert torch.equal(spikes, (x >= 0).to(dtype)), f"{what}: spiking forward is not heaviside"
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
    got = op(name + "_backward")(torch.ones_like(x).to(device), x.to(device), *entry.defaults).cpu().double()
    expected = entry.grad(x.double(), *entry.defaults)
    normal = expected >= 2.0 ** -120
    rel = ((got - expected).abs() / expected)[normal]
    assert float(rel.max()) <= 2e-5, f"relative error {float(rel.max()):.3g}"
    tiny = got[~normal]
    assert bool(((tiny >= 0) & (tiny <= 2.0 ** -120)).all()), f"min {float(tiny.min())!r} max {float(tiny.max())!r}"
    assert bool((got[expected < 2.0 ** -155] == 0).all())
