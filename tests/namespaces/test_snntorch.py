"""surrogate_ext.snntorch against snnTorch 1.0.0's surrogate module, factory by factory, and inside
snnTorch's and our own neurons. The differences are the documented fixes (docs/snntorch.md)."""
import inspect

import pytest
import torch

from conftest import same
from peer_parity import (PEER_TOLERANCES, ROOT, assert_grad_matches_oracle, parameters,
                         parity_inputs, run_python_blocks, spike_and_grad)
from surrogate_ext import ATan
from surrogate_ext.clock_driven import neuron
from surrogate_ext.snntorch import surrogate as ours
from surrogate_ext.core.peers import PeerParam

snn_surrogate = pytest.importorskip("snntorch.surrogate")
snntorch = pytest.importorskip("snntorch")

ROWS = {row.name: row for row in ours.SURROGATES}
# Each factory at its defaults and at other values (a negative B and threshold included).
PARAMS = {
    "atan": [(), (3.5,)], "fast_sigmoid": [(), (3,)], "sigmoid": [(), (5,)],
    "triangular": [(), (-0.5,)], "spike_rate_escape": [(), (2, 10)],
    "straight_through_estimator": [()], "heaviside": [()], "SFS": [(), (10, -0.5)],
    "LSO": [(), (0.3,)],
}
CASES = [pytest.param(ROWS[name], p, id=f"{name}{p}") for name, ps in PARAMS.items() for p in ps]
DTYPES = [torch.float32, torch.float64]


class _LeakySpikeOperatorFixed(snn_surrogate.LeakySpikeOperator):
    """snnTorch's own LeakySpikeOperator, with the gradient count its backward omits (snnTorch's
    LSO() cannot run it: it calls StochasticSpikeOperator instead, a TypeError)."""

    @staticmethod
    def backward(ctx, grad_output):
        return snn_surrogate.LeakySpikeOperator.backward(ctx, grad_output), None


def peer_factory(name, params):
    """snnTorch's callable for factory `name`; for LSO, the gradient its documentation intends."""
    if name == "LSO":
        slope = params[0] if params else 0.1
        return lambda x: _LeakySpikeOperatorFixed.apply(x, slope)
    return getattr(snn_surrogate, name)(*params)


def documented_difference(name, params, x):
    """Where snnTorch's gradient is NaN and ours is not, as documented (docs/snntorch.md)."""
    if name == "sigmoid":  # grad_output slope exp(-slope x) overflows: inf / inf (grad_output 1)
        slope = params[0] if params else 25
        return (torch.ones_like(x) * slope * torch.exp(-slope * x)).isinf()
    if name == "SFS":  # NaN * (x > B) is NaN there, 0 here (where(x > B, ..., 0))
        return x.isnan()
    return torch.zeros_like(x, dtype=torch.bool)


def test_every_factory_of_snntorch_is_here():
    factories = [n for n, f in vars(snn_surrogate).items()
                 if inspect.isfunction(f) and f.__module__ == snn_surrogate.__name__]
    assert sorted(factories) == sorted(list(ROWS) + ["SSO", "custom_surrogate"])


@pytest.mark.parametrize("name", list(ROWS) + ["SSO", "custom_surrogate"])
def test_signature_and_defaults_are_snntorchs(name):
    assert parameters(getattr(ours, name)) == parameters(getattr(snn_surrogate, name))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("row,params", CASES)
def test_matches_snntorch(row, params, dtype):
    """The spike bit for bit (x > 0; +-0 and NaN give 0) in x's dtype; the gradient against the
    float64 oracle, and against snnTorch's own except where documented."""
    sg = getattr(ours, row.name)(*params)
    op_params, grad_scale = row.bind(*params)
    x = parity_inputs(row, op_params, dtype, extra=(-3.6, 3.6, -30.0, 1e20, -1e20, 1e-30, -1e-30))
    spikes, grad = spike_and_grad(sg, x)
    peer_spikes, peer_grad = spike_and_grad(peer_factory(row.name, params), x)

    assert spikes.dtype == dtype and same(spikes, (x > 0).to(dtype))
    assert same(spikes, peer_spikes.to(dtype))
    assert_grad_matches_oracle(row, op_params, grad_scale, x, grad)

    differs = documented_difference(row.name, params, x)
    assert peer_grad[differs].isnan().all() and not grad[differs].isnan().any()
    torch.testing.assert_close(grad[~differs], peer_grad.to(dtype)[~differs], equal_nan=True,
                               **PEER_TOLERANCES[dtype])


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_sigmoid_fix_no_nan_where_snntorchs_exp_overflows(dtype):
    """snnTorch: grad_output slope e / (e + 1)^2, e = exp(-slope x), is inf / inf = NaN where
    grad_output slope e overflows: at slope 25 and grad_output 1, x < -3.42 in float32 (e itself
    overflows below -3.55) and x < -28.26 in float64. Ours is the value, ~0 there."""
    x = torch.tensor([-3.4202, -3.56, -5.0, -28.27, -1e4, -float("inf")], dtype=dtype)
    _, theirs = spike_and_grad(snn_surrogate.sigmoid(), x)
    _, grad = spike_and_grad(ours.sigmoid(), x)
    if dtype == torch.float64:
        nan_in_snntorch = x < -28.2626
        last_finite = torch.tensor([-28.2625], dtype=dtype)
        assert not spike_and_grad(snn_surrogate.sigmoid(), last_finite)[1].isnan().any()
    else:
        nan_in_snntorch = torch.ones_like(x, dtype=torch.bool)
        assert not spike_and_grad(snn_surrogate.sigmoid(), torch.tensor([-3.4201]))[1].isnan().any()
    assert torch.equal(theirs.isnan(), nan_in_snntorch)
    x64 = x.double()
    exact = 25 * torch.exp(-25 * x64.abs()) / (1 + torch.exp(-25 * x64.abs())) ** 2  # stable form
    # float32: the kernel's exp flushes results below ~1e-37 to 0 (5.6e-38 at x = -3.56)
    torch.testing.assert_close(grad.double(), exact.to(dtype).double(), rtol=1e-5,
                               atol=1e-37 if dtype == torch.float32 else 0.0)
    assert grad[0] > 0  # 1.4e-36 at x = -3.4202: a value, not a flush to 0


def test_lso_fix_computes_the_documented_gradient():
    """snnTorch's LSO(slope) raises TypeError (it calls StochasticSpikeOperator.apply(x, slope));
    ours: spikes x > 0, gradient out + slope (1 - out)."""
    x = torch.tensor([-2.0, -1e-3, -0.0, 0.0, 1e-3, 2.0], requires_grad=True)
    with pytest.raises(TypeError):
        snn_surrogate.LSO(0.25)(x)
    g = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    (grad,) = torch.autograd.grad(ours.LSO(0.25)(x), x, g)
    out = (x.detach() > 0).float()
    assert torch.equal(grad, g * out + 0.25 * g * (1 - out))
    assert grad.tolist() == [0.25, 0.5, 0.75, 1.0, 5.0, 6.0]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("name", list(ROWS) + ["SSO"])
def test_dtype_fix_the_input_dtype_is_kept(name, dtype):
    """snnTorch's forwards cast to float32; ours keep x's dtype (forward and gradient)."""
    x = torch.tensor([-1.0, 0.0, 0.5, 2.0], dtype=dtype)
    spikes, grad = spike_and_grad(getattr(ours, name)(), x)
    assert spikes.dtype == dtype and grad.dtype == dtype
    assert spikes.tolist() == [0.0, 0.0, 1.0, 1.0]
    if name != "LSO":  # snnTorch's raises TypeError
        assert getattr(snn_surrogate, name)()(x).dtype == torch.float32


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_sso_draws_snntorchs_gradient(dtype):
    """SSO: spikes x > 0; gradient 1 where fired, (u - 1/2 + mean) variance, u ~ U[0, 1) from
    torch's generator, where not; the same draws as snnTorch's, so the same numbers."""
    x = torch.randn(2000, dtype=dtype)
    x[:3] = torch.tensor([0.0, -0.0, float("nan")])
    g = torch.rand(2000).to(dtype)  # float32 values: snnTorch's float32 output rounds grad_output
    results = []
    for sso in (ours.SSO(0.1, 0.3), snn_surrogate.SSO(0.1, 0.3)):
        xr = x.clone().requires_grad_(True)
        spikes = sso(xr)
        torch.manual_seed(7)
        (grad,) = torch.autograd.grad(spikes, xr, g)
        results.append((spikes.to(dtype), grad))
    (spikes, grad), (their_spikes, their_grad) = results
    assert same(spikes, their_spikes) and same(spikes, (x > 0).to(dtype))
    assert same(grad, their_grad)
    fired = x > 0
    assert torch.equal(grad[fired], g[fired])
    noise = grad[~fired] / g[~fired]
    assert noise.min() >= (-0.5 + 0.1) * 0.3 and noise.max() < (0.5 + 0.1) * 0.3
    assert noise.std() > 0.05  # drawn, not constant


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_custom_surrogate_keeps_snntorchs_contract(dtype):
    seen = {}

    def custom_fast_sigmoid(input_, grad_input, spikes):
        seen.update(input_=input_, spikes=spikes)
        slope = 25
        return grad_input / (slope * torch.abs(input_) + 1.0) ** 2

    x = torch.tensor([-1.0, -0.0, 0.0, 0.02, 1.0], dtype=dtype)
    spikes, grad = spike_and_grad(ours.custom_surrogate(custom_fast_sigmoid), x)
    assert spikes.dtype == dtype and spikes.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    assert torch.equal(seen["input_"], x) and torch.equal(seen["spikes"], spikes)
    theirs = snn_surrogate.custom_surrogate(custom_fast_sigmoid)
    their_spikes, their_grad = spike_and_grad(theirs, x)
    assert torch.equal(spikes.float(), their_spikes)
    assert same(grad, their_grad.to(dtype))


@pytest.mark.parametrize("name", list(ROWS) + ["SSO"])
def test_bad_parameters_raise_naming_the_parameter(name):
    params = [p for row in ours.SURROGATES if row.name == name for p in row.params]
    if name == "SSO":
        params = [PeerParam("mean"), PeerParam("variance")]
    factory = getattr(ours, name)
    for p in params:
        bad = [float("nan"), float("inf")] + ([0.0, -1.0] if p.positive else [])
        for value in bad:
            with pytest.raises(ValueError, match=f"^{name}: {p.name} must be finite"):
                factory(**{p.name: value})
        with pytest.raises(TypeError, match=f"^{name}: {p.name} must be a real number"):
            factory(**{p.name: "1"})
    if not params:
        with pytest.raises(TypeError):
            factory(1.0)


def test_always_spiking():
    with pytest.raises(ValueError, match="always spiking"):
        ours.atan().set_spiking_mode(False)
    ours.atan().set_spiking_mode(True)


def test_tensor_parameters_are_read_as_floats():
    assert ours.fast_sigmoid(torch.tensor(10.0)).native_call() == (
        "soft_sign", (10.0,), dict(strict=True, grad_scale=0.2))


# --- snnTorch's neurons ------------------------------------------------------------------------

NEURONS = {
    # name: (constructor, state from the neuron's output)
    "Leaky": (lambda sg: snntorch.Leaky(beta=0.8, spike_grad=sg), lambda out: out[1:]),
    "Synaptic": (lambda sg: snntorch.Synaptic(alpha=0.7, beta=0.8, spike_grad=sg),
                 lambda out: out[1:]),
    "RLeaky": (lambda sg: snntorch.RLeaky(beta=0.8, linear_features=5, spike_grad=sg),
               lambda out: out),
}


def _train(neuron_name, spike_grad, steps=3, seed=0):
    """Linear(6, 5) -> the neuron over 8 steps; SGD on the spike counts. Returns the spikes,
    losses and gradients of every step."""
    make, state_of = NEURONS[neuron_name]
    torch.manual_seed(seed)
    fc = torch.nn.Linear(6, 5)
    torch.nn.init.uniform_(fc.weight, -0.2, 0.6)  # mostly excitatory: mem - threshold stays > -3
    lif = make(spike_grad)
    params = list(fc.parameters()) + list(lif.parameters())
    opt = torch.optim.SGD(params, lr=0.02)
    x = torch.rand(8, 4, 6) * 2
    target = torch.rand(4, 5) * 4
    spikes, losses, grads = [], [], []
    for _ in range(steps):
        opt.zero_grad()
        state = lif.reset_mem()
        state = state if isinstance(state, tuple) else (state,)
        out = []
        for t in range(x.shape[0]):
            result = lif(fc(x[t]), *state)
            out.append(result[0])
            state = state_of(result)
        out = torch.stack(out)
        loss = ((out.sum(0) - target) ** 2).mean()
        loss.backward()
        spikes.append(out.detach())
        losses.append(loss.item())
        grads.append([p.grad.clone() for p in params])
        opt.step()
    return spikes, losses, grads


@pytest.mark.parametrize("neuron_name", list(NEURONS))
@pytest.mark.parametrize("name", list(ROWS) + ["SSO"])
def test_snntorch_neurons_train_the_same(neuron_name, name):
    """A few SGD steps with spike_grad=ours.<name>() and with snnTorch's own: the same spikes,
    losses and gradients (LSO: the intended gradient, which snnTorch's LSO cannot run). sigmoid:
    once a neuron falls silent (mem < threshold - 3.42), snnTorch's gradient is NaN (the documented
    fix); ours stays finite, and the runs are compared up to there."""
    torch.manual_seed(123)
    mine = _train(neuron_name, getattr(ours, name)())
    theirs = _train(neuron_name, peer_factory(name, ()))
    assert all(torch.isfinite(g).all() for step in mine[2] for g in step)
    for step, (grads_a, grads_b) in enumerate(zip(mine[2], theirs[2])):
        if name == "sigmoid" and not all(torch.isfinite(g).all() for g in grads_b):
            assert step > 0
            break
        assert torch.equal(mine[0][step], theirs[0][step])
        assert mine[1][step] == pytest.approx(theirs[1][step], rel=1e-6)
        for a, b in zip(grads_a, grads_b):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert any(g.abs().sum() > 0 for g in mine[2][0]) and mine[0][0].sum() > 0


# --- our fused neurons ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(ROWS))
def test_fused_neuron_takes_a_snntorch_surrogate(name):
    """backend='native' runs the factory's operator with strict=True and its grad_scale: the same
    spikes and potentials as the 'torch' backend bit for bit, and the same gradients."""
    def run(backend):
        torch.manual_seed(0)
        x = (torch.randn(6, 3, 5, dtype=torch.float64) * 1.5).requires_grad_(True)
        node = neuron.MultiStepLIFNode(tau=2.0, surrogate_function=getattr(ours, name)(),
                                       backend=backend)
        spikes = node(x)
        (spikes * torch.linspace(0.5, 1.5, 5, dtype=torch.float64)).sum().backward()
        return spikes.detach(), node.v_seq.detach(), x.grad

    native, torch_backend = run("native"), run("torch")
    assert torch.equal(native[0], torch_backend[0]) and torch.equal(native[1], torch_backend[1])
    torch.testing.assert_close(native[2], torch_backend[2], rtol=1e-12, atol=1e-14)
    assert native[0].sum() > 0


@pytest.mark.parametrize("backend", neuron.BACKENDS)
def test_fused_neuron_with_snntorch_convention_does_not_fire_at_the_threshold(backend):
    """strict=True: v - v_threshold == 0 is no spike (snnTorch), where SpikingJelly's >= fires."""
    x_seq = torch.full((1, 4), 2.0, dtype=torch.float64)  # H = 0 + (2 - 0)/2 = 1 = v_threshold
    strict = neuron.MultiStepLIFNode(surrogate_function=ours.atan(), backend=backend)(x_seq)
    assert strict.tolist() == [[0.0] * 4]
    loose = neuron.MultiStepLIFNode(surrogate_function=ATan(), backend=backend)(x_seq)
    assert loose.tolist() == [[1.0] * 4]


def test_fused_neuron_rejects_sso():
    with pytest.raises(ValueError, match="backend 'native': the fused neurons need surrogate_function"):
        neuron.MultiStepLIFNode(surrogate_function=ours.SSO(), backend="native")


# --- the docs ------------------------------------------------------------------------------------

def test_docs_examples_run():
    run_python_blocks(ROOT / "docs" / "snntorch.md")


def test_docs_list_every_factory_and_fix():
    text = (ROOT / "docs" / "snntorch.md").read_text()
    for row in ours.SURROGATES:
        assert f"`{row.name}(" in text
    for needle in ("NaN", "TypeError", "float32", "ValueError", "custom_surrogate", "SSO("):
        assert needle in text
