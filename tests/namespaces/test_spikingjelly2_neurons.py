"""surrogate_ext.activation_based.neuron against SpikingJelly 2.0.0's activation_based.neuron:
every class, its signature, both step modes, float32 and float64, several native surrogates, the
state carried over two calls and after SpikingJelly's reset_net; SpikingJelly's helpers and
containers on our neurons; the reference path for a surrogate of one's own; one fused operator
per call (the profiler); torch.compile with no graph break; bad input."""
import inspect
import math
import subprocess
import sys

import pytest
import torch

from surrogate_ext.activation_based import neuron as ours
from surrogate_ext.activation_based import surrogate as our_surrogate
from peer_parity import profiled_ops
from peers import import_spikingjelly2

NODES = {n.name: n for n in ours.NODES}
CLASSES = [pytest.param(name, id=name) for name in NODES]
TOLERANCE = {torch.float64: dict(rtol=1e-10, atol=1e-10), torch.float32: dict(rtol=2e-5, atol=2e-5)}


@pytest.fixture(scope="module")
def sj():
    import_spikingjelly2("activation_based.surrogate")
    return (import_spikingjelly2("activation_based.neuron"), import_spikingjelly2("activation_based.surrogate"),
            import_spikingjelly2("activation_based.functional"), import_spikingjelly2("activation_based.layer"))


def takes(name, parameter):
    return parameter in inspect.signature(getattr(ours, name).__init__).parameters


# Surrogates each class fires with in the parity tests: the class's default and two more (I-LIF:
# MultiLevelSpikeCount windows), by class name (ours and SpikingJelly's) and parameters.
def surrogates(name):
    if name == "ILIFNode":
        return [("MultiLevelSpikeCount", (4,), {}), ("MultiLevelSpikeCount", (3,), dict(grad_window=(-0.5, 2.5)))]
    if not takes(name, "surrogate_function"):
        return [None]
    return [None, ("ATan", (3.0,), {}), ("PiecewiseQuadratic", (0.8,), {})]


def build(namespace, surrogate_module, name, spec, dtype, step_mode):
    kwargs = {}
    if spec is not None:
        cls, args, kw = spec
        kwargs["surrogate_function"] = getattr(surrogate_module, cls)(*args, **kw)
    if name == "IzhikevichNode":
        kwargs.update(a=0.1, b=0.2)  # the recovery variable moves
    node = getattr(namespace, name)(**kwargs).to(dtype)
    node.step_mode = step_mode
    return node


def drive(node, x, step_mode, chunks=2):
    """Runs x through node in `chunks` calls (state carried), returns the spikes, the last v and
    the gradients of a weighted loss on spikes and v with respect to x and the parameters."""
    x = x.detach().clone().requires_grad_(True)
    spikes = []
    for part in x.chunk(chunks):
        if step_mode == "m":
            spikes.append(node(part))
        else:
            spikes.extend(node(step) for step in part)
    spikes = torch.cat(spikes) if step_mode == "m" else torch.stack(spikes)
    weights = torch.linspace(-1, 2, spikes.numel(), dtype=x.dtype).view_as(spikes)
    loss = (spikes * weights).sum() + (node.v * weights[0]).sum()
    params = list(node.parameters())
    grads = torch.autograd.grad(loss, [x] + params)
    return spikes.detach(), node.v.detach(), grads


def inputs(dtype, seed=0, shape=(6, 4, 9)):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=gen, dtype=torch.float64) * 1.5 + 0.8).to(dtype)


@pytest.mark.parametrize("name", CLASSES)
def test_signatures_are_spikingjellys(sj, name):
    theirs = str(inspect.signature(getattr(sj[0], name).__init__)).replace("spikingjelly2.activation_based.", "")
    mine = str(inspect.signature(getattr(ours, name).__init__)).replace("surrogate_ext.activation_based.", "")
    assert mine == theirs.replace(" -> None", "")


def assert_parity(a, b, dtype, what):
    (s1, v1, g1), (s2, v2, g2) = a, b
    assert torch.equal(s1, s2), f"{what}: spikes"
    assert s1.sum() > 0, f"{what}: no spike, the case tests nothing"
    torch.testing.assert_close(v1, v2, **TOLERANCE[dtype], msg=f"{what}: v")
    for i, (u, w) in enumerate(zip(g1, g2)):
        torch.testing.assert_close(u, w, **TOLERANCE[dtype], msg=f"{what}: gradient {i}")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("step_mode", ["m", "s"])
@pytest.mark.parametrize("name", CLASSES)
def test_parity_with_spikingjelly(sj, name, step_mode, dtype):
    """Spikes bit for bit, the state and the gradients of the input and the parameters within
    1e-10 (float64) and 2e-5 (float32), over two calls with the state carried, then again after
    SpikingJelly's functional.reset_net on both."""
    sj_neuron, sj_surrogate, functional, _ = sj
    for spec in surrogates(name):
        mine = build(ours, our_surrogate, name, spec, dtype, step_mode)
        theirs = build(sj_neuron, sj_surrogate, name, spec, dtype, step_mode)
        for p, q in zip(mine.parameters(), theirs.parameters()):
            assert torch.equal(p, q)
        for run in range(2):
            x = inputs(dtype, seed=run)
            assert_parity(drive(mine, x, step_mode), drive(theirs, x, step_mode), dtype, f"{name} {spec} run {run}")
            functional.reset_net(torch.nn.Sequential(mine, theirs))
            assert isinstance(mine.v, float) and mine.v == theirs.v


def test_every_row_is_a_class_of_spikingjelly(sj):
    assert {n.name for n in ours.NODES} <= set(dir(sj[0]))


@pytest.mark.parametrize("name", [n for n in NODES if takes(n, "store_v_seq")])
def test_store_v_seq_in_both_step_modes(sj, name):
    """store_v_seq=True keeps every step's v: [T, ...] after a multi-step call, appended call
    after call in single-step mode, as SpikingJelly does; reset() drops it. (CUBALIFNode takes no
    store_v_seq, as in SpikingJelly.)"""
    x = inputs(torch.float64)
    for step_mode in ("m", "s"):
        results = []
        for namespace in (ours, sj[0]):
            node = getattr(namespace, name)(store_v_seq=True).double()
            node.step_mode = step_mode
            with torch.no_grad():
                if step_mode == "m":
                    node(x)
                else:
                    for step in x:
                        node(step)
            results.append(node.v_seq)
            node.reset()
            assert node.v_seq is None
        assert results[0].shape == x.shape
        torch.testing.assert_close(results[0], results[1], rtol=1e-12, atol=1e-12)


def test_spikingjelly_helpers_and_containers_drive_our_neurons(sj):
    """set_step_mode, reset_net and detach_net reach our neurons, and SpikingJelly's containers
    (SeqToANNContainer around a layer, MultiStepContainer around a single-step neuron) run them."""
    _, _, functional, layer = sj
    torch.manual_seed(0)
    net = torch.nn.Sequential(layer.SeqToANNContainer(torch.nn.Linear(9, 7)), ours.LIFNode(),
                              layer.MultiStepContainer(ours.IFNode()))
    functional.set_step_mode(net[1], "m")
    assert net[1].step_mode == "m" and net[2][0].step_mode == "s"
    x = inputs(torch.float32)
    out = net(x)
    assert out.shape == (6, 4, 7) and out.sum() > 0
    assert isinstance(net[1].v, torch.Tensor) and isinstance(net[2][0].v, torch.Tensor)
    functional.detach_net(net)
    assert not net[1].v.requires_grad
    functional.reset_net(net)
    assert net[1].v == 0.0 and net[2][0].v == 0.0
    with pytest.raises(ValueError, match="step_mode"):
        functional.set_step_mode(net, "x")


def test_our_neurons_need_no_spikingjelly():
    code = ("import sys, torch; from surrogate_ext.activation_based import neuron; "
            "n = neuron.LIFNode(step_mode='m'); s = n(torch.rand(3, 2) * 3); "
            "assert 'spikingjelly' not in sys.modules; print(int(s.sum()))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


class OwnSurrogate(torch.autograd.Function):
    """A surrogate of one's own (not native): heaviside forward, a triangle gradient."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (1 - x.abs()).clamp_min(0)


@pytest.mark.parametrize("step_mode", ["m", "s"])
@pytest.mark.parametrize("name", [n for n in NODES if n != "ILIFNode"])  # I-LIF takes only MultiLevelSpikeCount
def test_a_surrogate_of_ones_own_takes_the_reference_path(sj, name, step_mode):
    """The reference step in a loop: the same numbers as SpikingJelly's Python path."""
    nodes = [getattr(ns, name)(surrogate_function=OwnSurrogate.apply).double() for ns in (ours, sj[0])]
    for node in nodes:
        node.step_mode = step_mode
    x = inputs(torch.float64)
    assert_parity(drive(nodes[0], x, step_mode), drive(nodes[1], x, step_mode), torch.float64, name)


@pytest.mark.parametrize("name", CLASSES)
def test_one_fused_operator_per_call(name):
    """A multi-step call is one surrogate_ext operator forward and one backward, whatever T (no
    per-step torch op); a single step, after the first (which materialises the state), is one
    forward and one backward as well."""
    node_m = getattr(ours, name)(step_mode="m") if takes(name, "step_mode") else getattr(ours, name)()
    node_m.step_mode = "m"
    counts = {}
    for steps in (3, 7):
        node_m.reset()
        x = (torch.rand(steps, 4, 5) * 2).requires_grad_(True)
        ops = profiled_ops(lambda: node_m(x).sum().backward())
        fused = [o for o in ops if o.startswith("surrogate_ext::")]
        assert fused == [f"surrogate_ext::{NODES[name].family}_multistep",
                         f"surrogate_ext::{NODES[name].family}_multistep_backward"], ops
        counts[steps] = len(ops)
    assert counts[3] == counts[7], "an operator per step"
    node_s = getattr(ours, name)()
    node_s.step_mode = "s"
    x0 = torch.rand(4, 5)
    node_s(x0)  # materialises the state
    node_s.detach()  # (a learnable parameter's graph would lead the backward into the first step)
    x1 = (torch.rand(4, 5) * 2).requires_grad_(True)
    ops = profiled_ops(lambda: node_s(x1).sum().backward())
    fused = [o for o in ops if o.startswith("surrogate_ext::")]
    assert fused == [f"surrogate_ext::{NODES[name].family}_step",
                     f"surrogate_ext::{NODES[name].family}_step_backward"], ops
    # besides: the loss's sum and its backward, and autograd storing a parameter's gradient
    assert set(ops) - set(fused) <= {"aten::sum", "aten::ones_like", "aten::expand", "aten::detach"}, ops


@pytest.mark.parametrize("step_mode", ["m", "s"])
@pytest.mark.parametrize("name", CLASSES)
def test_compile_fullgraph(name, step_mode):
    """Under torch.compile(fullgraph=True) (no graph break), spikes, state and gradients equal
    eager's."""
    torch._dynamo.reset()
    torch.manual_seed(0)
    node = getattr(ours, name)()
    node.step_mode = step_mode
    x = inputs(torch.float32, shape=(4, 3, 5))

    def run(x):
        node.reset()
        if step_mode == "m":
            s = node(x)
        else:
            s = torch.stack([node(step) for step in x])
        return s, node.v

    results = []
    for fn in (run, torch.compile(run, fullgraph=True, backend="aot_eager")):
        xx = x.clone().requires_grad_(True)
        s, v = fn(xx)
        (s.sum() + (v * v).sum()).backward()
        results.append((s.detach(), v.detach(), xx.grad) + tuple(p.grad.clone() for p in node.parameters()))
        node.zero_grad()
    for a, b in zip(*results):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("build,match", [
    (lambda: ours.LIFNode(tau=1.0), "tau must be > 1"),
    (lambda: ours.LIFNode(tau=math.nan), "tau must be a finite real number"),
    (lambda: ours.ParametricLIFNode(init_tau=0.5), "init_tau must be > 1"),
    (lambda: ours.IFNode(v_threshold=math.inf), "v_threshold must be a finite real number"),
    (lambda: ours.IFNode(v_reset="0"), "v_reset must be a finite real number or None"),
    (lambda: ours.QIFNode(a0=-1.0), "a0 must be > 0"),
    (lambda: ours.QIFNode(v_reset=2.0), "v_threshold must be > v_reset"),
    (lambda: ours.EIFNode(delta_T=0.0), "delta_T must be > 0"),
    (lambda: ours.IzhikevichNode(tau_w=math.nan), "tau_w must be a finite real number"),
    (lambda: ours.ILIFNode(surrogate_function=our_surrogate.ATan()), "MultiLevelSpikeCount"),
    (lambda: ours.HalfThresholdIFNode(v_threshold=-1.0), "v_threshold must be finite positive"),
    (lambda: ours.RAFNode(b=0.5), "b must be < 0"),
    (lambda: ours.LIFNode(step_mode="x"), "step_mode"),
    (lambda: ours.LIFNode(detach_reset=1), "detach_reset must be a bool"),
    (lambda: ours.LIFNode(surrogate_function=3), "surrogate_function must be callable"),
])
def test_bad_construction(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_bad_input_names_the_argument():
    node = ours.LIFNode(step_mode="m")
    with pytest.raises(TypeError, match="x_seq must be a float32"):
        node(torch.ones(3, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match="x_seq must be a tensor"):
        node([1.0, 2.0])
    node = ours.LIFNode()
    with pytest.raises(TypeError, match="x must be a float32"):
        node(torch.ones(3, dtype=torch.int64))
