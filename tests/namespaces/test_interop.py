"""Our modules inside the neurons users already have: SpikingJelly 0.0.0.0.14 and snnTorch."""
import pytest
import torch

import surrogate_ext
from conftest import make_module
from surrogate_ext import registry

ENTRIES = list(registry.THRESHOLD_SURROGATES)
IDS = [e.op for e in ENTRIES]
SJ14 = [e for e in ENTRIES if e.origin == registry.SJ14]  # the classes SpikingJelly 0.0.0.0.14 has
# PiecewiseLeakyReLU's gradient inside [-w, w] is 1/(2w) here and 1/w in SpikingJelly (the
# documented fix), so its gradients are compared with SpikingJelly's only where they agree.
SAME_AS_SPIKINGJELLY = [e for e in SJ14 if e.op != "piecewise_leaky_relu"]


def _spikingjelly():
    return (pytest.importorskip("spikingjelly.clock_driven.neuron"),
            pytest.importorskip("spikingjelly.clock_driven.surrogate"))


def _multistep_run(node, seed=0, steps=1, lr=0.5):
    """Linear -> multi-step LIF over T=4; a few SGD steps; returns outputs, losses, weights, grads."""
    torch.manual_seed(seed)
    fc = torch.nn.Linear(8, 6).double()
    x = torch.randn(4, 3, 8, dtype=torch.float64) * 2
    target = torch.rand(3, 6, dtype=torch.float64)
    opt = torch.optim.SGD(fc.parameters(), lr=lr)
    outputs, losses, grads = [], [], []
    for _ in range(steps):
        node.reset()
        opt.zero_grad()
        out = node(fc(x))
        loss = ((out.mean(0) - target) ** 2).sum()
        loss.backward()
        outputs.append(out.detach())
        losses.append(loss.item())
        grads.append(fc.weight.grad.clone())
        opt.step()
    return outputs, losses, grads, fc.weight.detach()


@pytest.mark.parametrize("entry", SAME_AS_SPIKINGJELLY, ids=[e.op for e in SAME_AS_SPIKINGJELLY])
def test_spikingjelly_multistep_lif_trains_the_same(entry):
    neuron, sj_surrogate = _spikingjelly()
    ours = _multistep_run(neuron.MultiStepLIFNode(surrogate_function=make_module(entry),
                                                  backend="torch"), steps=3)
    theirs = _multistep_run(neuron.MultiStepLIFNode(surrogate_function=getattr(sj_surrogate, entry.cls)(),
                                                    backend="torch"), steps=3)
    for a, b in zip(ours[0], theirs[0]):
        assert torch.equal(a, b)  # the spiking forward is exact
    assert ours[1] == pytest.approx(theirs[1], rel=1e-10, abs=1e-12)
    for a, b in zip(ours[2], theirs[2]):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    assert any(g.abs().sum() > 0 for g in ours[2])
    torch.testing.assert_close(ours[3], theirs[3], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("entry", SAME_AS_SPIKINGJELLY, ids=[e.op for e in SAME_AS_SPIKINGJELLY])
def test_spikingjelly_single_step_lif_with_reset(entry):
    neuron, sj_surrogate = _spikingjelly()

    def run(surrogate_function):
        torch.manual_seed(1)
        x = (torch.randn(5, 4, 7, dtype=torch.float64) * 2).requires_grad_(True)
        node = neuron.LIFNode(tau=2.0, surrogate_function=surrogate_function)
        spikes = torch.stack([node(x[t]) for t in range(5)])
        (spikes * torch.linspace(0, 1, 7, dtype=torch.float64)).sum().backward()
        node.reset()
        return spikes.detach(), x.grad

    ours = run(make_module(entry))
    theirs = run(getattr(sj_surrogate, entry.cls)())
    assert torch.equal(ours[0], theirs[0])
    torch.testing.assert_close(ours[1], theirs[1], rtol=1e-10, atol=1e-12)


def test_spikingjelly_piecewise_leaky_relu_differs_by_the_documented_fix():
    """Same spikes; the gradients differ, since SpikingJelly uses 1/w inside [-w, w] and we 1/(2w)."""
    neuron, sj_surrogate = _spikingjelly()
    w, c = 1.0, 0.01
    ours = _multistep_run(neuron.MultiStepLIFNode(surrogate_function=surrogate_ext.PiecewiseLeakyReLU(w, c),
                                                  backend="torch"))
    theirs = _multistep_run(neuron.MultiStepLIFNode(surrogate_function=sj_surrogate.PiecewiseLeakyReLU(w, c),
                                                    backend="torch"))
    assert torch.equal(ours[0][0], theirs[0][0])
    assert torch.isfinite(ours[2][0]).all() and ours[2][0].abs().sum() > 0
    assert not torch.allclose(ours[2][0], theirs[2][0])  # the documented difference shows


def _snntorch():
    snntorch = pytest.importorskip("snntorch")
    return snntorch, pytest.importorskip("snntorch.surrogate")


def _leaky_run(spike_grad, x):
    snntorch, _ = _snntorch()
    lif = snntorch.Leaky(beta=0.5, threshold=1.0, spike_grad=spike_grad)
    mem = lif.init_leaky()
    x = x.clone().requires_grad_(True)
    spikes = []
    for t in range(x.shape[0]):
        spk, mem = lif(x[t], mem)
        spikes.append(spk)
    spikes = torch.stack(spikes)
    spikes.sum().backward()
    return spikes.detach(), x.grad


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_snntorch_leaky_accepts_every_module(entry):
    torch.manual_seed(0)
    x = torch.randn(6, 4, 5) * 2
    spikes, grad = _leaky_run(make_module(entry), x)
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_snntorch_atan_matches_ours_away_from_zero():
    """snnTorch's atan(alpha) has our ATan's gradient, alpha/2 / (1 + (pi/2 alpha x)^2)."""
    _, snn_surrogate = _snntorch()
    torch.manual_seed(0)
    x = torch.randn(6, 4, 5) * 2
    ours = _leaky_run(surrogate_ext.ATan(alpha=2.0), x)
    theirs = _leaky_run(snn_surrogate.atan(alpha=2.0), x)
    assert torch.equal(ours[0], theirs[0])
    torch.testing.assert_close(ours[1], theirs[1])


def test_snntorch_threshold_difference_at_exactly_zero():
    """snnTorch spikes when mem - threshold > 0; our spiking functions when it is >= 0."""
    _, snn_surrogate = _snntorch()
    x = torch.ones(1, 1)  # mem = 0.5 * 0 + 1 = threshold exactly
    ours, _ = _leaky_run(surrogate_ext.ATan(), x)
    theirs, _ = _leaky_run(snn_surrogate.atan(), x)
    assert ours.item() == 1.0 and theirs.item() == 0.0
