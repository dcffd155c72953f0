"""No leaks: 100k forward+backward calls (50k elementwise, 50k fused neuron) keep the resident set
flat, and the tensors autograd saves for the backward are freed once the backward has run.

The RSS tests use 4 KiB operands, so that a tensor leaked per call would be 200 MiB over a test;
the bound (RSS_GROWTH_BOUND) catches anything above about 80 bytes a call. SURROGATE_EXT_LEAK_CALLS
sets the number of calls of each test (100000 for 100k of each kind)."""
from __future__ import annotations

import gc
import os
import weakref

import pytest
import torch

from surrogate_ext import registry
from surrogate_ext.clock_driven import neuron
import surrogate_ext
from workloads import inputs, neuron_arguments, ops

CALLS = int(os.environ.get("SURROGATE_EXT_LEAK_CALLS", "50000"))
WARMUP = 2000
RSS_GROWTH_BOUND = max(4 << 20, CALLS * 80)

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc/self/statm (Linux)")


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def rss_growth(step, calls=CALLS):
    """RSS after `calls` calls of step() minus RSS after a warm-up (caches, the allocator's pools
    and the autograd engine's thread-locals settle during it)."""
    for _ in range(WARMUP):
        step()
    gc.collect()
    before = rss_bytes()
    for _ in range(calls):
        step()
    gc.collect()
    growth = rss_bytes() - before
    print(f"RSS {before / 2**20:.1f} MiB after the warm-up, {growth / 2**10:+.0f} KiB after {calls} calls")
    return growth


def test_elementwise_forward_backward_keeps_rss_flat():
    """Every registry row in turn: op(x) and op_primitive(x) through the C++ autograd, and their
    backward (CALLS forward+backward calls in all)."""
    x, g = inputs((1024,))
    leaf = x.requires_grad_(True)
    entries = [(getattr(ops, e.op + suffix), e.example_params) for e in registry.SURROGATES for suffix in ("", "_primitive")]
    state = {"i": 0}

    def step():
        fn, params = entries[state["i"] % len(entries)]
        state["i"] += 1
        fn(leaf, *params).backward(g)
        leaf.grad = None

    growth = rss_growth(step)
    assert growth < RSS_GROWTH_BOUND, f"RSS grew by {growth / 2**20:.1f} MiB over {CALLS} calls"


def test_fused_neuron_forward_backward_keeps_rss_flat():
    """Every registry row's fused neuron in turn (IF, LIF, PLIF), forward and BPTT backward through
    the C++ autograd, with gradients to x_seq, v_init and k (CALLS calls in all)."""
    x_seq, grad = inputs((4, 256))
    x_seq.requires_grad_(True)
    v_init = torch.zeros(256, requires_grad=True)
    k = torch.tensor(0.4, requires_grad=True)
    cases = [(getattr(ops, e.op + "_multistep_node"), neuron_arguments(kind, k), e.example_params)
             for e in registry.THRESHOLD_SURROGATES for kind in ("if", "lif", "plif")]
    state = {"i": 0}

    def step():
        fn, arguments, params = cases[state["i"] % len(cases)]
        state["i"] += 1
        spikes, v_seq, v = fn(x_seq, v_init, *arguments, *params)
        torch.autograd.backward([spikes, v_seq, v], [grad, grad, grad[0]])
        x_seq.grad = v_init.grad = k.grad = None

    growth = rss_growth(step)
    assert growth < RSS_GROWTH_BOUND, f"RSS grew by {growth / 2**20:.1f} MiB over {CALLS} calls"


def _watched(t):
    """A fresh non-leaf tensor equal to t, and a weak reference to it: the reference dies as soon
    as nothing (the autograd graph included) holds the tensor any more. No gc.collect() in these
    tests: a tensor kept alive by a reference cycle until the next collection is not freed
    after the backward either."""
    fresh = t * 1.0
    return fresh, weakref.ref(fresh)


@pytest.mark.parametrize("suffix", ["", "_primitive"])
@pytest.mark.parametrize("entry", registry.SURROGATES, ids=lambda e: e.op)
def test_elementwise_saved_input_is_freed_after_backward(entry, suffix):
    leaf = torch.randn(64, requires_grad=True)
    x, alive = _watched(leaf)
    y = getattr(ops, entry.op + suffix)(x, *entry.example_params)
    del x
    assert alive() is not None, "the graph should hold the saved input until the backward"
    y.sum().backward()
    assert alive() is None, "the saved input outlived the backward"
    assert y.grad_fn is not None  # the output, and so its graph node, is still alive


@pytest.mark.parametrize("kind", ["if", "lif", "plif"])
@pytest.mark.parametrize("entry", registry.THRESHOLD_SURROGATES, ids=lambda e: e.op)
def test_fused_neuron_saved_tensors_are_freed_after_backward(entry, kind):
    """The forward saves x_seq, v_init and v_seq (and k); after the backward only what the caller
    still holds remains: x_seq and v_init go, v_seq (an output the caller holds) stays."""
    x_leaf = torch.randn(5, 3, 4, requires_grad=True)
    v_leaf = torch.randn(3, 4, requires_grad=True)
    k_leaf = torch.tensor(0.4, requires_grad=True)
    x_seq, x_alive = _watched(x_leaf)
    v_init, v_alive = _watched(v_leaf)
    k, k_alive = _watched(k_leaf)
    spikes, v_seq, _ = getattr(ops, entry.op + "_multistep_node")(x_seq, v_init, *neuron_arguments(kind, k),
                                                                   *entry.example_params)
    del x_seq, v_init, k
    assert x_alive() is not None and v_alive() is not None
    (spikes.sum() + v_seq.square().sum()).backward()
    assert x_alive() is None and v_alive() is None, "a saved input outlived the backward"
    assert k_alive() is None, "k outlived the backward"
    assert x_leaf.grad is not None and v_leaf.grad is not None


@pytest.mark.parametrize("cls", [neuron.MultiStepIFNode, neuron.MultiStepLIFNode, neuron.MultiStepParametricLIFNode])
def test_neuron_module_state_does_not_keep_old_graphs(cls):
    """A module trained step after step (reset between sequences, as SpikingJelly's reset_net
    does) holds no input of an earlier step once its backward has run."""
    net = cls(surrogate_function=surrogate_ext.ATan(), backend="native")
    refs = []
    for _ in range(3):
        net.reset()
        x_seq, alive = _watched(torch.randn(4, 8, requires_grad=True))
        refs.append(alive)
        net(x_seq).sum().backward()
        del x_seq
    assert all(r() is None for r in refs), "an input of an earlier step is still alive"
