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


def test_gradient_to_initial_v():
    ops = torch.ops.surrogate_ext
    x = _inputs(torch.float64, shape=(4, 9))
    v0 = torch.randn(9, dtype=torch.float64, requires_grad=True)
    k = torch.tensor(0.4, dtype=torch.float64, requires_grad=True)

    def f(x, v0, k):
        s, v_seq, v = ops.sigmoid_multistep_node(x, v0, "plif", 1.0, k, True, 1.0, None, False, 4.0)
        return s.sum() + (v_seq * v_seq).sum() + (3 * v).sum()

    # the spike's surrogate gradient is not the step's derivative, so compare with the torch
    # backend's autograd rather than finite differences: same formula, hand-written gradient
    net = neuron.MultiStepParametricLIFNode(v_reset=None, surrogate_function=surrogate_ext.Sigmoid())
    net = net.double()
    with torch.no_grad():
        net.w.copy_(torch.logit(k.detach()))
    v0_ref = v0.detach().clone().requires_grad_(True)
    net.v = v0_ref
    spikes = net(x)
    (spikes.sum() + (net.v_seq * net.v_seq).sum() + (3 * net.v).sum()).backward()
    f(x, v0, k).backward()
    torch.testing.assert_close(v0.grad, v0_ref.grad)
    # k = sigmoid(w): dL/dw = dL/dk * k (1 - k)
    torch.testing.assert_close(k.grad * k.detach() * (1 - k.detach()), net.w.grad)


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


@pytest.mark.parametrize("steps", [3, 0])
def test_operator_v_output_is_the_last_state(steps):
    """The operator's v is v_seq[T-1] (v_init when T = 0) in a tensor of its own, and a gradient of v
    enters the backward as grad_v: the same as that gradient on v_seq's last row."""
    ops = torch.ops.surrogate_ext
    x = _inputs(torch.float64, shape=(steps, 5))
    v0 = torch.randn(5, dtype=torch.float64)
    _, v_seq, v = ops.atan_multistep_node(*_op_args(x, v0), 2.0)
    assert torch.equal(v, v_seq[-1] if steps else v0) and v.data_ptr() not in (v_seq.data_ptr(), v0.data_ptr())
    tail = ("lif", 2.0, None, True, 1.0, 0.0, False, 2.0)
    g_spike, g_v = torch.randn_like(x), torch.randn_like(v0)
    by_v = ops.atan_multistep_node_backward(g_spike, None, g_v, x, v0, v_seq, *tail)
    if not steps:  # v is v_init
        assert torch.equal(by_v[1], g_v)
        return
    g_v_seq = torch.zeros_like(x)
    g_v_seq[-1] = g_v
    by_v_seq = ops.atan_multistep_node_backward(g_spike, g_v_seq, None, x, v0, v_seq, *tail)
    for a, b in zip(by_v[:2], by_v_seq[:2]):
        assert torch.equal(a, b)


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


def _op_args(x, v0, **over):
    args = dict(neuron="lif", tau=2.0, k=None, decay_input=True, v_threshold=1.0, v_reset=0.0,
                detach_reset=False)
    args.update(over)
    return (x, v0, args["neuron"], args["tau"], args["k"], args["decay_input"],
            args["v_threshold"], args["v_reset"], args["detach_reset"])


@pytest.mark.parametrize("over,x_shape,v_shape,error,match", [
    (dict(neuron="alif"), (3, 4), (4,), ValueError, "neuron must be 'if', 'lif' or 'plif', got 'alif'"),
    (dict(tau=0.0), (3, 4), (4,), ValueError, "tau must be > 0, got 0"),
    (dict(neuron="plif"), (3, 4), (4,), ValueError, "k must be a one-element tensor"),
    ({}, (3, 4), (5,), ValueError, "v_init must have the shape of one step of x_seq"),
    ({}, (), (), ValueError, "x_seq must have shape"),
])
def test_bad_operator_arguments(over, x_shape, v_shape, error, match):
    x, v0 = torch.randn(x_shape), torch.zeros(v_shape)
    with pytest.raises(error, match=match):
        torch.ops.surrogate_ext.atan_multistep_node(*_op_args(x, v0, **over), 2.0)
    with pytest.raises(ValueError, match="alpha must be finite and > 0"):
        torch.ops.surrogate_ext.atan_multistep_node(*_op_args(torch.randn(3, 4), torch.zeros(4)), -1.0)


def test_bad_backward_arguments():
    ops = torch.ops.surrogate_ext
    x, v0 = torch.randn(3, 4), torch.zeros(4)
    _, v, _ = ops.atan_multistep_node(*_op_args(x, v0), 2.0)
    tail = ("lif", 2.0, None, True, 1.0, 0.0, False, 2.0)
    with pytest.raises(ValueError, match="grad_spike_seq must have shape"):
        ops.atan_multistep_node_backward(torch.ones(2, 4), None, None, x, v0, v, *tail)
    with pytest.raises(TypeError, match="grad_v_seq must have dtype"):
        ops.atan_multistep_node_backward(torch.ones(3, 4), torch.ones(3, 4, dtype=torch.float64),
                                         None, x, v0, v, *tail)
    with pytest.raises(ValueError, match=r"grad_v must have shape \[4\]"):
        ops.atan_multistep_node_backward(torch.ones(3, 4), None, torch.ones(3, 4), x, v0, v, *tail)
    with pytest.raises(TypeError, match="grad_v must have dtype"):
        ops.atan_multistep_node_backward(torch.ones(3, 4), None, torch.ones(4, dtype=torch.float64),
                                         x, v0, v, *tail)
    with pytest.raises(ValueError, match="v_seq must have shape"):
        ops.atan_multistep_node_backward(torch.ones(3, 4), None, None, x, v0, v[:2], *tail)
    with pytest.raises(ValueError, match="v_init must have the shape of one step of x_seq"):
        ops.atan_multistep_node_backward(torch.ones(3, 4), None, None, x, v0[:3], v, *tail)
    with pytest.raises(ValueError, match="k must be a one-element tensor"):
        ops.atan_multistep_node_backward(torch.ones(3, 4), None, None, x, v0, v, "plif", 1.0,
                                         None, True, 1.0, 0.0, False, 2.0)


def test_double_backward_is_refused():
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    s, v_seq, _ = torch.ops.surrogate_ext.atan_multistep_node(*_op_args(x, torch.zeros(4, dtype=torch.float64)), 2.0)
    (gx,) = torch.autograd.grad(s.sum() + v_seq.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="double backward is not supported"):
        gx.sum().backward()


def _opcheck_samples(neuron_kind):
    for requires_grad in (False, True):
        x = torch.randn(5, 3, 4, dtype=torch.float64).requires_grad_(requires_grad)
        v0 = torch.randn(3, 4, dtype=torch.float64).requires_grad_(requires_grad)
        k = torch.tensor(0.3, dtype=torch.float64).requires_grad_(requires_grad)
        yield _op_args(x, v0, neuron=neuron_kind, k=k if neuron_kind == "plif" else None,
                       v_reset=None if requires_grad else -0.1)


@pytest.mark.parametrize("neuron_kind", ["if", "lif", "plif"])
@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_opcheck(entry, neuron_kind):
    op = getattr(torch.ops.surrogate_ext, entry.op + "_multistep_node")
    for args in _opcheck_samples(neuron_kind):
        torch.library.opcheck(op, args + entry.example_params)


def test_opcheck_backward():
    ops = torch.ops.surrogate_ext
    x, v0 = torch.randn(4, 6, dtype=torch.float64), torch.randn(6, dtype=torch.float64)
    k = torch.tensor(0.3, dtype=torch.float64)
    _, v_seq, _ = ops.erf_multistep_node(*_op_args(x, v0, neuron="plif", k=k), 2.0)
    for grad_v in (torch.randn_like(v0), None):
        args = (torch.randn_like(x), torch.randn_like(x), grad_v, x, v0, v_seq, "plif", 1.0, k, True,
                1.0, 0.0, False, 2.0)
        torch.library.opcheck(ops.erf_multistep_node_backward, args)


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
    assert any("multistep_node" in str(n.target) for n in ep.graph.nodes)
    torch.testing.assert_close(ep.module()(x), net(x))

    @torch.jit.script
    def scripted(x_seq: torch.Tensor, v0: torch.Tensor):
        return torch.ops.surrogate_ext.atan_multistep_node(x_seq, v0, "lif", 2.0, None, True, 1.0,
                                                           0.0, False, 2.0)

    v0 = torch.zeros(3, 6)
    assert torch.equal(scripted(x, v0)[0],
                       torch.ops.surrogate_ext.atan_multistep_node(*_op_args(x, v0), 2.0)[0])
