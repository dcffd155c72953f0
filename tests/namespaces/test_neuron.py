"""The multi-step neurons: the native fused backend against the 'torch' backend and SpikingJelly,
for every surrogate and every charge/reset variant; check_cuda_grad; bad input."""
import pytest
import torch

import surrogate_ext
from conftest import make_module
from surrogate_ext import registry
from surrogate_ext.clock_driven import neuron

ENTRIES = list(registry.THRESHOLD_SURROGATES)  # the rows that have fused neuron operators
IDS = [e.op for e in ENTRIES]
# The rows of SpikingJelly 0.0.0.0.14, whose gradients are its (PiecewiseLeakyReLU's differs by a fix)
SJ14_SAME = [e for e in ENTRIES if e.origin == registry.SJ14 and e.op != "piecewise_leaky_relu"]

# (class, constructor arguments): every charge expression, hard/soft reset, detach_reset
CONFIGS = [
    pytest.param(neuron.MultiStepIFNode, {}, id="if-hard"),
    pytest.param(neuron.MultiStepIFNode, dict(v_reset=None, detach_reset=True), id="if-soft-detach"),
    pytest.param(neuron.MultiStepLIFNode, {}, id="lif-decay-hard"),
    pytest.param(neuron.MultiStepLIFNode, dict(tau=3.0, v_reset=-0.25), id="lif-decay-vreset"),
    pytest.param(neuron.MultiStepLIFNode, dict(tau=1.5, decay_input=False, v_reset=None),
                 id="lif-nodecay-soft"),
    pytest.param(neuron.MultiStepLIFNode, dict(decay_input=False, v_reset=0.5, detach_reset=True),
                 id="lif-nodecay-vreset-detach"),
    pytest.param(neuron.MultiStepParametricLIFNode, {}, id="plif-decay-hard"),
    pytest.param(neuron.MultiStepParametricLIFNode, dict(init_tau=3.0, v_reset=None),
                 id="plif-decay-soft"),
    pytest.param(neuron.MultiStepParametricLIFNode, dict(decay_input=False, detach_reset=True),
                 id="plif-nodecay-detach"),
    pytest.param(neuron.MultiStepParametricLIFNode, dict(decay_input=False, v_reset=-0.5),
                 id="plif-nodecay-vreset"),
]


def _inputs(dtype, shape=(6, 5, 7), seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=gen, dtype=torch.float64) * 1.5 + 0.4).to(dtype)


def _run(cls, kwargs, surrogate, backend, x, chunks=2):
    """Runs x in `chunks` consecutive calls (so the state carries over and the gradient flows
    through the initial v of the later calls); returns spikes, v_seq, and the gradients of a
    loss on both with respect to x (and w for the parametric node)."""
    torch.manual_seed(0)
    net = cls(surrogate_function=surrogate, backend=backend, **kwargs).to(x.dtype)
    x = x.clone().requires_grad_(True)
    spikes, potentials = [], []
    for part in x.chunk(chunks):
        spikes.append(net(part))
        potentials.append(net.v_seq)
    spikes, potentials = torch.cat(spikes), torch.cat(potentials)
    weights = torch.linspace(-1, 2, spikes.numel(), dtype=x.dtype).view_as(spikes)
    ((spikes * weights).sum() + (potentials * weights.flip(0)).sum()).backward()
    grads = [x.grad] + ([net.w.grad] if hasattr(net, "w") else [])
    return spikes.detach(), potentials.detach(), grads


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("cls,kwargs", CONFIGS)
@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_native_matches_torch_backend(entry, cls, kwargs, dtype):
    x = _inputs(dtype)
    surrogate = make_module(entry)
    s_t, v_t, g_t = _run(cls, kwargs, surrogate, "torch", x)
    s_n, v_n, g_n = _run(cls, kwargs, surrogate, "native", x)
    # the same expressions in the same order: bit-exact forward on the CPU
    assert torch.equal(s_n, s_t)
    assert torch.equal(v_n, v_t)
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == torch.float64 else dict(rtol=1e-4, atol=1e-4)
    for a, b in zip(g_n, g_t):
        torch.testing.assert_close(a, b, **tol)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_half_types(entry, dtype):
    # IF on multiples of 1/8: every potential is exact in the half types, so the spikes and
    # potentials equal float32's; the gradients agree to the type's rounding.
    x = (_inputs(torch.float64) * 8).round() / 8
    surrogate = make_module(entry)
    s_h, v_h, (g_h,) = _run(neuron.MultiStepIFNode, {}, surrogate, "native", x.to(dtype))
    s_f, v_f, (g_f,) = _run(neuron.MultiStepIFNode, {}, surrogate, "native", x.float())
    assert s_h.dtype == dtype and torch.equal(s_h.float(), s_f) and torch.equal(v_h.float(), v_f)
    rtol = 2e-2 if dtype == torch.float16 else 1e-1
    # BPTT through a steep surrogate (SpikeRateEscape's slope 25) can outgrow float16's range
    fits = g_f.abs() < torch.finfo(dtype).max / 4
    assert bool(g_h[~fits].float().abs().ge(torch.finfo(dtype).max / 8).all())
    torch.testing.assert_close(g_h.float()[fits], g_f[fits], rtol=rtol,
                               atol=rtol * g_f[fits].abs().max().item())


def test_non_contiguous_input():
    x = _inputs(torch.float64, shape=(7, 5, 6)).transpose(0, 1)[:, ::2]  # [5, 4, 6], strided
    assert not x.is_contiguous()
    a = _run(neuron.MultiStepLIFNode, {}, surrogate_ext.ATan(), "native", x)
    b = _run(neuron.MultiStepLIFNode, {}, surrogate_ext.ATan(), "native", x.contiguous())
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and torch.equal(a[2][0], b[2][0])


@pytest.mark.parametrize("cls", [neuron.MultiStepIFNode, neuron.MultiStepLIFNode,
                                 neuron.MultiStepParametricLIFNode])
def test_check_cuda_grad_on_cpu(cls, capsys):
    errors = surrogate_ext.check_cuda_grad(cls, surrogate_ext.ATan, "cpu", alpha=2.0)
    assert errors[torch.float32] < 1e-5
    assert errors[torch.float16] < 1e-2
    assert "max error" in capsys.readouterr().out


sj_neuron = pytest.importorskip("spikingjelly.clock_driven.neuron")
sj_surrogate = pytest.importorskip("spikingjelly.clock_driven.surrogate")

SJ_CLASSES = {
    neuron.MultiStepIFNode: sj_neuron.MultiStepIFNode,
    neuron.MultiStepLIFNode: sj_neuron.MultiStepLIFNode,
    neuron.MultiStepParametricLIFNode: sj_neuron.MultiStepParametricLIFNode,
}


# PiecewiseLeakyReLU's gradient differs from SpikingJelly 0.0.0.0.14 by design (README).
@pytest.mark.parametrize("cls,kwargs", CONFIGS)
@pytest.mark.parametrize("entry", SJ14_SAME, ids=[e.op for e in SJ14_SAME])
def test_matches_spikingjelly(entry, cls, kwargs):
    x = _inputs(torch.float32, shape=(8, 4, 16))
    theirs = SJ_CLASSES[cls](surrogate_function=getattr(sj_surrogate, entry.cls)(),
                             backend="torch", **kwargs)
    ours = cls(surrogate_function=make_module(entry), backend="native", **kwargs)
    results = []
    for net in (theirs, ours):
        xx = x.clone().requires_grad_(True)
        spikes = net(xx)
        (spikes.sum() + net.v_seq.square().sum()).backward()
        results.append((spikes.detach(), net.v_seq.detach(), xx.grad,
                        net.w.grad if hasattr(net, "w") else None))
    (s_sj, v_sj, g_sj, w_sj), (s, v, g, w) = results
    assert torch.equal(s, s_sj)
    assert torch.equal(v, v_sj)
    torch.testing.assert_close(g, g_sj, rtol=1e-4, atol=1e-4)
    if w is not None:
        torch.testing.assert_close(w, w_sj, rtol=1e-4, atol=1e-3)


def test_native_backend_accepts_spikingjelly_surrogate():
    x = _inputs(torch.float32)
    ours = neuron.MultiStepLIFNode(surrogate_function=surrogate_ext.S2NN(alpha=3.0, beta=0.5),
                                   backend="native")
    mixed = neuron.MultiStepLIFNode(surrogate_function=sj_surrogate.S2NN(alpha=3.0, beta=0.5),
                                    backend="native")
    assert torch.equal(ours(x), mixed(x))


def test_reset_and_state():
    net = neuron.MultiStepLIFNode(v_reset=-0.5, backend="native")
    assert net.v == -0.5 and net.v_seq is None
    x = _inputs(torch.float32)
    net(x)
    assert net.v_seq.shape == x.shape and torch.equal(net.v, net.v_seq[-1])
    net.reset()
    assert net.v == -0.5 and net.v_seq is None
    soft = neuron.MultiStepIFNode(v_reset=None)
    assert soft.v == 0.


NEURON_CLASSES = [neuron.MultiStepIFNode, neuron.MultiStepLIFNode, neuron.MultiStepParametricLIFNode]


@pytest.mark.parametrize("backend", ["torch", "native"])
@pytest.mark.parametrize("cls", NEURON_CLASSES, ids=lambda c: c.__name__)
def test_store_v_seq_false_keeps_only_v(cls, backend):
    """store_v_seq=False leaves v_seq None; the spikes, v and every gradient (through v carried into
    a second call, and through a loss on the last v) equal those of store_v_seq=True, bit for bit."""
    x = _inputs(torch.float64)
    results = []
    for store in (True, False):
        net = cls(surrogate_function=surrogate_ext.ATan(), backend=backend, store_v_seq=store).double()
        xx = x.clone().requires_grad_(True)
        first, second = xx.chunk(2)
        spikes = [net(first)]
        assert (net.v_seq is not None) == store
        spikes = torch.cat(spikes + [net(second)])
        weights = torch.linspace(-1, 2, spikes.numel(), dtype=x.dtype).view_as(spikes)
        ((spikes * weights).sum() + net.v.square().sum()).backward()
        results.append([spikes.detach(), net.v.detach(), xx.grad] + [p.grad for p in net.parameters()])
        assert ("store_v_seq=False" in repr(net)) != store
    assert xx.grad.abs().sum() > 0
    for kept, dropped in zip(*results):
        assert torch.equal(kept, dropped)


@pytest.mark.parametrize("build,match", [
    (lambda: neuron.MultiStepLIFNode(backend="cupy"), "backend"),
    (lambda: neuron.MultiStepLIFNode(tau=1.0), "tau must be > 1"),
    (lambda: neuron.MultiStepParametricLIFNode(init_tau=0.5), "init_tau must be > 1"),
    (lambda: neuron.MultiStepIFNode(v_threshold=float("nan")), "v_threshold"),
    (lambda: neuron.MultiStepIFNode(v_reset="0"), "v_reset"),
    (lambda: neuron.MultiStepLIFNode(store_v_seq=1), "store_v_seq must be a bool"),
    (lambda: neuron.MultiStepIFNode(surrogate_function=torch.nn.Sigmoid(), backend="native"),
     "surrogate_function"),
    (lambda: neuron.MultiStepIFNode(surrogate_function=surrogate_ext.ATan(spiking=False),
                                    backend="native"), "spiking"),
])
def test_bad_construction(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_bad_input_to_module():
    net = neuron.MultiStepIFNode(backend="native")
    with pytest.raises(ValueError, match="x_seq"):
        net(torch.randn(5))
    with pytest.raises(TypeError, match="x_seq must be a float32"):
        net(torch.ones(3, 4, dtype=torch.int64))


class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(6, 5)
        self.lif = neuron.MultiStepParametricLIFNode(surrogate_function=surrogate_ext.ATan(),
                                                     backend="native")

    def forward(self, x_seq):
        self.lif.reset()
        return self.lif(self.fc(x_seq)).mean(0)


def test_compile_fullgraph_forward_and_backward():
    torch.manual_seed(0)
    net = _Net()
    x = torch.randn(8, 3, 6)
    eager = net(x)
    eager.sum().backward()
    grads = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    compiled = torch.compile(net, fullgraph=True, backend="aot_eager")
    out = compiled(x)
    out.sum().backward()
    torch.testing.assert_close(out, eager)
    for p, g in zip(net.parameters(), grads):
        torch.testing.assert_close(p.grad, g)


def test_export_and_script_the_operator():
    torch.manual_seed(0)
    net = _Net().eval()
    x = torch.randn(8, 3, 6)
    ep = torch.export.export(net, (x,))
    assert any("plif_multistep" in str(n.target) for n in ep.graph.nodes)
    torch.testing.assert_close(ep.module()(x), net(x))

    @torch.jit.script
    def scripted(x_seq: torch.Tensor, v0: torch.Tensor):
        return torch.ops.surrogate_ext.lif_multistep(x_seq, v0, 2.0, True, True, 1.0, 0.0, False,
                                                     "atan", [2.0])

    v0 = torch.zeros(3, 6)
    lif = neuron.MultiStepLIFNode(surrogate_function=surrogate_ext.ATan(), backend="native")
    lif.v = v0
    assert torch.equal(scripted(x, v0)[0], lif(x))
