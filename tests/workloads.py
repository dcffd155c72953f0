"""Workloads for the reliability tests (threads, leaks, large tensors): every registered surrogate's
elementwise operators and fused neurons, forward and backward through autograd, driven by the
registry."""
from __future__ import annotations

import torch

from surrogate_ext import registry

ops = torch.ops.surrogate_ext
NEURON_KINDS = ("if", "lif", "plif")


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


def neuron_arguments(kind, k):
    """(neuron, tau, k, decay_input, v_threshold, v_reset, detach_reset) of a fused neuron op: a
    hard reset for IF, a soft reset for LIF, a hard reset to -0.25 for PLIF."""
    return {"if": ("if", 1.0, None, True, 1.0, 0.0, False),
            "lif": ("lif", 2.5, None, False, 1.0, None, True),
            "plif": ("plif", 1.0, k, True, 0.75, -0.25, False)}[kind]


def neuron_forward_backward(entry, kind, x_seq, v_init, grad_spike, grad_v, params=None):
    """entry's fused neuron of kind ('if', 'lif', 'plif') on x_seq from v_init, and the gradients
    of sum(grad_spike * spikes + grad_v * v_seq + grad_v[0] * v) (v: the last step's state, an
    output of its own) with respect to x_seq, v_init and (PLIF) k."""
    params = entry.example_params if params is None else params
    x = x_seq.detach().requires_grad_(True)
    v0 = v_init.detach().requires_grad_(True)
    k = torch.tensor(0.4, dtype=x_seq.dtype, requires_grad=True)
    spikes, v_seq, v = getattr(ops, entry.op + "_multistep_node")(x, v0, *neuron_arguments(kind, k), *params)
    torch.autograd.backward([spikes, v_seq, v], [grad_spike, grad_v, grad_v[0]])
    results = {"spikes": spikes.detach(), "v_seq": v_seq.detach(), "v": v.detach(), "grad_x_seq": x.grad,
               "grad_v_init": v0.grad}
    if kind == "plif":
        results["grad_k"] = k.grad
    return results


def inputs(shape, dtype=torch.float32, seed=0):
    """A spread around the threshold, and an upstream gradient, reproducible from seed."""
    gen = torch.Generator().manual_seed(seed)
    x = (torch.randn(shape, generator=gen, dtype=torch.float64) * 1.5 + 0.4).to(dtype)
    g = torch.randn(shape, generator=gen, dtype=torch.float64).to(dtype)
    return x, g


def every_workload(elementwise_shape=(257, 33), neuron_shape=(6, 300), dtype=torch.float32, seed=0):
    """(name, thunk) for every registry row's elementwise operators and its fused neuron of each
    kind; each thunk returns a dict of result tensors, the same on every call."""
    x, g = inputs(elementwise_shape, dtype, seed)
    x_seq, grad_spike = inputs(neuron_shape, dtype, seed + 1)
    grad_v = grad_spike.flip(0)
    v_init = x_seq[0] * 0.25
    cases = []
    for entry in registry.SURROGATES:
        cases.append((f"{entry.op}-elementwise", lambda e=entry: elementwise_forward_backward(e, x, g)))
        for kind in NEURON_KINDS if entry.threshold else ():  # the rows with fused neurons
            cases.append((f"{entry.op}-{kind}",
                          lambda e=entry, k=kind: neuron_forward_backward(e, k, x_seq, v_init, grad_spike, grad_v)))
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
