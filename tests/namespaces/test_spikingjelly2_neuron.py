"""Neurons and SpikingJelly 2.0: our native neurons with SpikingJelly 2.0's surrogate instances
(read by class name) and with surrogate_ext.activation_based's; PoissonPass and
MultiLevelSpikeCount on the 'torch' backend only; and SpikingJelly 2.0's own neurons (LIFNode,
IFNode, ParametricLIFNode, step_mode='m') trained with our surrogates as with its own."""
import pytest
import torch

import surrogate_ext
from surrogate_ext.activation_based import surrogate as ab
from surrogate_ext.clock_driven import neuron
from conftest import OTHER_PARAMS, make_module
from peers import import_spikingjelly2


@pytest.fixture(scope="module")
def sj():
    return import_spikingjelly2("activation_based.surrogate")


@pytest.fixture(scope="module")
def sj_neuron():
    import_spikingjelly2("activation_based.surrogate")
    return import_spikingjelly2("activation_based.neuron"), import_spikingjelly2("activation_based.functional")


def build(namespace, spec, params, spiking=True):
    if spec.name == spec.entry.cls:
        return make_module(spec.entry, params, spiking, namespace)
    return getattr(namespace, spec.name)(*params, spiking=spiking)


THRESHOLD_SPECS = [s for s in ab.SPECS if s.entry.threshold and not s.stochastic]
OWN_FORWARD_SPECS = [s for s in ab.SPECS if not (s.entry.threshold and not s.stochastic)]


def run_lif(surrogate_function, backend, x):
    """Spikes, potentials and the input gradient of MultiStepLIFNode on x."""
    net = neuron.MultiStepLIFNode(tau=1.5, v_reset=None, surrogate_function=surrogate_function,
                                  backend=backend)
    x = x.clone().requires_grad_(True)
    spikes = net(x)
    weights = torch.linspace(-1, 2, spikes.numel(), dtype=x.dtype).view_as(spikes)
    ((spikes * weights).sum() + net.v_seq.square().sum()).backward()
    return spikes.detach(), net.v_seq.detach(), x.grad


def test_the_heaviside_classes():
    assert len(THRESHOLD_SPECS) == 17
    assert {s.name for s in OWN_FORWARD_SPECS} == {"PoissonPass", "MultiLevelSpikeCount"}


@pytest.mark.parametrize("spec", THRESHOLD_SPECS, ids=lambda s: s.name)
def test_native_neurons_take_spikingjelly2_instances(sj, spec):
    """SpikingJelly 2.0's instance (non-default parameters, read from its attributes) runs the same
    native operator as ours, and matches the 'torch' backend running SpikingJelly's module."""
    params = OTHER_PARAMS[spec.op]
    x = (torch.randn(6, 3, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
         + 0.6)
    theirs = build(sj, spec, params)
    s, v, g = run_lif(build(ab, spec, params), "native", x)
    for other in (theirs, make_module(spec.entry, params)):  # SpikingJelly's, the top level's
        s_o, v_o, g_o = run_lif(other, "native", x)
        assert torch.equal(s_o, s) and torch.equal(v_o, v) and torch.equal(g_o, g)
    s_t, v_t, g_t = run_lif(theirs, "torch", x)
    assert torch.equal(s_t, s) and torch.equal(v_t, v)
    torch.testing.assert_close(g, g_t, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("spec", OWN_FORWARD_SPECS, ids=lambda s: s.name)
def test_forwards_that_are_not_a_threshold(sj, spec):
    """MultiLevelSpikeCount fires its spike count natively (the engine's own-spike fire);
    PoissonPass, which fires at random, is refused by the native backend. The 'torch' backend
    runs both, with the same spikes as SpikingJelly's module."""
    params = spec.entry.example_params if spec.name == spec.entry.cls else ()
    # IF with threshold 0 and x in [0, 0.4], T = 2: PoissonPass's probabilities stay in [0, 1]
    x = torch.rand(2, 4, 7, generator=torch.Generator().manual_seed(0)) * 0.4
    for namespace in (ab, surrogate_ext, sj):
        if spec.stochastic:
            with pytest.raises(ValueError, match=f"backend 'native': .*{spec.name} fires at random.*"
                                                 f"use backend='torch'"):
                neuron.MultiStepIFNode(surrogate_function=build(namespace, spec, params), backend="native")
        else:
            native = neuron.MultiStepIFNode(v_threshold=0.0, surrogate_function=build(namespace, spec, params),
                                            backend="native")
            loop = neuron.MultiStepIFNode(v_threshold=0.0, surrogate_function=build(namespace, spec, params))
            assert torch.equal(native(x), loop(x)) and torch.equal(native.v, loop.v)
    results = []
    for namespace in (ab, sj):
        torch.manual_seed(0)
        net = neuron.MultiStepIFNode(v_threshold=0.0, surrogate_function=build(namespace, spec, params))
        xx = x.clone().requires_grad_(True)
        spikes = net(xx)
        spikes.sum().backward()
        results.append((spikes.detach(), xx.grad))
    (s, g), (s_sj, g_sj) = results
    assert torch.equal(s, s_sj) and torch.equal(g, g_sj) and bool(s.any())


# --- SpikingJelly 2.0's neurons trained with our surrogates ---------------------------------------

SJ_NEURONS = [("LIFNode", dict(tau=2.0)), ("IFNode", {}), ("ParametricLIFNode", dict(init_tau=2.0))]
# Each class with one of the three neurons in turn (every neuron meets several surrogates, among
# them SpikingJelly's built-in ones, which its neurons run through their own CPU implementation).
TRAINING = [pytest.param(spec, SJ_NEURONS[i % 3], id=f"{spec.name}-{SJ_NEURONS[i % 3][0]}")
            for i, spec in enumerate(s for s in ab.SPECS if not s.stochastic)]


def train(sj_neuron, surrogate_function, neuron_name, kwargs, steps=3):
    """Linear(6, 8) -> SpikingJelly 2.0 neuron (step_mode='m'), SGD on a squared error of the
    firing rates; the spikes, the loss and every parameter's gradient of each step."""
    neuron_module, functional = sj_neuron
    torch.manual_seed(0)
    node = getattr(neuron_module, neuron_name)(surrogate_function=surrogate_function,
                                               step_mode="m", **kwargs)
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), node)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    gen = torch.Generator().manual_seed(1)
    x, target = torch.rand(5, 4, 6, generator=gen) * 4, torch.rand(4, 8, generator=gen)
    record = []
    for _ in range(steps):
        functional.reset_net(net)
        spikes = net(x)
        loss = ((spikes.mean(0) - target) ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        record.append((spikes.detach(), loss.detach(), [p.grad.clone() for p in net.parameters()]))
        optimizer.step()
    return record


@pytest.mark.parametrize("spec,neuron_config", TRAINING)
def test_spikingjelly2_neurons_train_the_same(sj, sj_neuron, spec, neuron_config):
    name, kwargs = neuron_config
    params = spec.entry.example_params
    ours = train(sj_neuron, build(ab, spec, params), name, kwargs)
    theirs = train(sj_neuron, build(sj, spec, params), name, kwargs)
    for step, ((s, loss, grads), (s_sj, loss_sj, grads_sj)) in enumerate(zip(ours, theirs)):
        assert torch.equal(s, s_sj), f"step {step}: spikes differ"
        torch.testing.assert_close(loss, loss_sj, rtol=1e-6, atol=1e-7)
        for g, g_sj in zip(grads, grads_sj):  # float32 rounding, summed over the batch and steps
            torch.testing.assert_close(g, g_sj, rtol=1e-5, atol=1e-5 * g_sj.abs().max().item())
    assert any(bool(s.any()) for s, _, _ in ours)
    assert any(bool(g.abs().sum() > 0) for _, _, grads in ours for g in grads)
