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
from surrogate_ext.core import neurons
from workloads import inputs, neuron_cases, neuron_surrogate, ops

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
    """Every neuron case in turn (each family, and LIF with every surrogate row), multi-step and
    single-step, forward and BPTT backward through the C++ autograd, with gradients to x_seq, the
    initial states and the tensor arguments (CALLS calls in all)."""
    x_seq, grad = inputs((4, 256))
    cases = [(neuron, entry, kind) for _, neuron, entry in neuron_cases() for kind in ("multistep", "step")]
    state = {"i": 0}

    def step():
        neuron, entry, kind = cases[state["i"] % len(cases)]
        state["i"] += 1
        x = (x_seq if kind == "multistep" else x_seq[0]).detach().requires_grad_(True)
        init = [torch.zeros(256, requires_grad=True) for _ in neuron.states]
        args = [a.requires_grad_(True) if isinstance(a, torch.Tensor) else a for a in neuron.example_args()]
        out = neuron.op(kind)(x, *init, *args, *neuron_surrogate(neuron, entry))
        torch.autograd.backward(list(out), [grad if o.dim() == 2 else grad[0] for o in out])

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


@pytest.mark.parametrize("neuron", neurons.NEURONS, ids=lambda n: n.name)
def test_fused_neuron_saved_tensors_are_freed_after_backward(neuron):
    """The forward saves x_seq, the initial states and the state sequences (and the tensor
    arguments); after the backward only what the caller still holds remains: x_seq, the initial
    states and the tensor arguments go, the state sequences (outputs the caller holds) stay."""
    x_leaf = torch.randn(5, 3, 4, requires_grad=True)
    state_leaves = [torch.randn(3, 4, requires_grad=True) for _ in neuron.states]
    arg_leaves = [a.requires_grad_(True) if isinstance(a, torch.Tensor) else a for a in neuron.example_args()]
    x_seq, x_alive = _watched(x_leaf)
    init, alive = [], [x_alive]
    for leaf in state_leaves:
        fresh, ref = _watched(leaf)
        init.append(fresh)
        alive.append(ref)
    args = []
    for a in arg_leaves:
        if isinstance(a, torch.Tensor):
            a, ref = _watched(a)
            alive.append(ref)
        args.append(a)
    out = neuron.op("multistep")(x_seq, *init, *args, *neuron_surrogate(neuron))
    del x_seq, init, args, a, fresh  # noqa: F821
    assert all(r() is not None for r in alive), "the graph should hold its saved inputs"
    (out[0].sum() + sum(o.square().sum() for o in out[1::2])).backward()
    assert all(r() is None for r in alive), "a saved input outlived the backward"
    assert x_leaf.grad is not None and all(s.grad is not None for s in state_leaves)


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
