"""Workloads for the reliability tests (threads, leaks, large tensors): every registered surrogate's
elementwise operators and every neuron family's fused operators, forward and backward through
autograd, driven by the tables."""
from __future__ import annotations

import torch

from surrogate_ext import registry
from surrogate_ext.core import neurons

ops = torch.ops.surrogate_ext


def elementwise_forward_backward(entry, x, g, params=None):
    """The spiking and the primitive operator of entry on x, each with its gradient for the
    upstream gradient g (through the C++ autograd, which calls <op>_backward and
    <op>_primitive_backward)."""
    params = entry.example_params if params is None else params
    results = {}
    for suffix in ("", "_primitive"):
        leaf = x.detach().requires_grad_(True)
        y = getattr(ops, entry.op + suffix)(leaf, *params)
        y.backward(g)
        results["forward" + suffix] = y.detach()
        results["grad" + suffix] = leaf.grad
    return results


def neuron_surrogate(neuron, entry=None):
    """(name, parameters as floats) the neuron fires with: entry's, or the family's example."""
    if entry is None:
        name, params = neuron.example_surrogate
        return name, [float(p) for p in params]
    return entry.op, [float(p) for p in entry.example_params]


def neuron_forward_backward(neuron, x_seq, states, grad_spike, grad_states, entry=None, args=None):
    """The fused multi-step operator of family `neuron` (its example arguments, or `args`) on
    x_seq from `states`, firing with entry's surrogate (or the family's example), and the
    gradients of sum(grad_spike * spikes + sum_k grad_states[k] * (s_seq[k] + s[k] broadcast))
    with respect to x_seq, the initial states and the tensor arguments."""
    x = x_seq.detach().requires_grad_(True)
    init = [s.detach().requires_grad_(True) for s in states]
    args = neuron.example_args(x_seq.dtype) if args is None else args
    args = [a.detach().requires_grad_(True) if isinstance(a, torch.Tensor) else a for a in args]
    out = neuron.op("multistep")(x, *init, *args, *neuron_surrogate(neuron, entry))
    grads = [grad_spike]
    for g in grad_states:
        grads += [g, g[0]]
    torch.autograd.backward(list(out), grads)
    results = {"spikes": out[0].detach(), "grad_x_seq": x.grad}
    for k, name in enumerate(neuron.states):
        results[name + "_seq"] = out[1 + 2 * k].detach()
        results[name] = out[2 + 2 * k].detach()
        results["grad_" + name + "_init"] = init[k].grad
    for a, arg in zip(neuron.args, args):
        if a.type == "Tensor":
            results["grad_" + a.name] = arg.grad
    return results


def neuron_cases():
    """(label, family, surrogate row or None): every family with its example surrogate, and LIF
    with every threshold row (the rows reach the kernels only through the surrogate's gradient)."""
    cases = [(n.name, n, None) for n in neurons.NEURONS]
    cases += [(f"lif-{e.op}", neurons.BY_NAME["lif"], e) for e in registry.THRESHOLD_SURROGATES]
    return cases


def inputs(shape, dtype=torch.float32, seed=0):
    """A spread around the threshold, and an upstream gradient, reproducible from seed."""
    gen = torch.Generator().manual_seed(seed)
    x = (torch.randn(shape, generator=gen, dtype=torch.float64) * 1.5 + 0.4).to(dtype)
    g = torch.randn(shape, generator=gen, dtype=torch.float64).to(dtype)
    return x, g


def every_workload(elementwise_shape=(257, 33), neuron_shape=(6, 300), dtype=torch.float32, seed=0):
    """(name, thunk) for every registry row's elementwise operators and the neuron cases
    (neuron_cases); each thunk returns a dict of result tensors, the same on every call."""
    x, g = inputs(elementwise_shape, dtype, seed)
    x_seq, grad_spike = inputs(neuron_shape, dtype, seed + 1)
    grad_state = grad_spike.flip(0)
    init = x_seq[0] * 0.25
    cases = []
    for entry in registry.SURROGATES:
        cases.append((f"{entry.op}-elementwise", lambda e=entry: elementwise_forward_backward(e, x, g)))
    for label, neuron, entry in neuron_cases():
        states = [init] * len(neuron.states)
        grads = [grad_state] * len(neuron.states)
        cases.append((f"neuron-{label}", lambda n=neuron, e=entry, s=states, gs=grads:
                      neuron_forward_backward(n, x_seq, s, grad_spike, gs, e)))
    return cases


_BITS = {torch.float64: torch.int64, torch.float32: torch.int32, torch.float16: torch.int16,
         torch.bfloat16: torch.int16}


def assert_same_bits(got, expected, what):
    """The same dtype, shape and bits (signed zeros and infinities included), with NaN at the same
    places (whatever their payload)."""
    assert got.dtype == expected.dtype and got.shape == expected.shape, \
        f"{what}: {got.dtype}{list(got.shape)}, expected {expected.dtype}{list(expected.shape)}"
    nan = got.isnan()
    assert torch.equal(nan, expected.isnan()), f"{what}: NaN at different places"
    a = torch.where(nan, torch.zeros_like(got), got).view(_BITS[got.dtype])
    b = torch.where(nan, torch.zeros_like(expected), expected).view(_BITS[got.dtype])
    assert torch.equal(a, b), f"{what}: {int((a != b).sum())} elements differ"


def assert_identical(results, expected, what):
    """Dicts of results, bit for bit."""
    assert results.keys() == expected.keys(), what
    for key, value in expected.items():
        assert_same_bits(results[key], value, f"{what} {key}")
