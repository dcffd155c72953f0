"""Concurrency: Python threads calling the operators and the fused neurons at once get the results
of serial calls, and results are bit-identical for 1, 2 and 4 intra-op threads
(torch.set_num_threads), forward and backward, for every registry row."""
from __future__ import annotations

import threading

import pytest
import torch

from surrogate_ext import registry
from surrogate_ext.core import neurons
from workloads import assert_identical, every_workload, inputs, neuron_forward_backward

THREADS = 4
ROUNDS = 3


@pytest.fixture
def intra_op_threads():
    """Sets torch's intra-op thread count for the test, and restores it."""
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


def test_python_threads_get_the_serial_results():
    """THREADS Python threads, released together, each run every workload on inputs of their own
    ROUNDS times, in orders of their own (so that different operators overlap); every result
    equals the serial one bit for bit. Different inputs per thread, so that one thread's values
    showing up in another's results (state shared between calls) cannot go unnoticed."""
    cases = [every_workload(seed=index) for index in range(THREADS)]
    expected = [{name: thunk() for name, thunk in thread_cases} for thread_cases in cases]
    start = threading.Barrier(THREADS)
    failures = []

    def worker(index):
        order = cases[index] if index % 2 == 0 else cases[index][::-1]
        order = order[index:] + order[:index]
        start.wait()
        try:
            for _ in range(ROUNDS):
                for name, thunk in order:
                    assert_identical(thunk(), expected[index][name], f"thread {index}: {name}")
        except BaseException as e:  # noqa: BLE001  (reported by the main thread)
            failures.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a thread did not finish"
    assert not failures, failures[0]


# Large enough that at::parallel_for splits them across 4 threads: TensorIterator's grain is
# 32768 elements; the neurons' is max(1, 32768 / (2048 T)) blocks of 2048 neurons (8199 neurons are
# 5 blocks, the last one part of a SIMD vector and a scalar tail).
ELEMENTWISE_SHAPE = (257, 513)
NEURON_SHAPE = (16, 8192 + 7)


@pytest.fixture(scope="module")
def one_thread_results():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return {name: thunk() for name, thunk in every_workload(ELEMENTWISE_SHAPE, NEURON_SHAPE)}
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("threads", [2, 4])
def test_bit_identical_for_1_2_and_4_intra_op_threads(threads, one_thread_results, intra_op_threads):
    """Every workload (elementwise forward and backward; every neuron family forward and
    backward, to x_seq, the initial states and the tensor arguments) with `threads` intra-op
    threads equals the one-thread run bit for bit. A tensor argument's gradient is a sum over
    neurons: test_parameter_gradients_bit_identical_across_threads checks it at a size where
    ATen's parallel sum would split it."""
    intra_op_threads(threads)
    for name, thunk in every_workload(ELEMENTWISE_SHAPE, NEURON_SHAPE):
        assert_identical(thunk(), one_thread_results[name],
                         f"{name}, {threads} threads")


@pytest.mark.parametrize("neuron", [n for n in neurons.NEURONS if n.tensor_args], ids=lambda n: n.name)
def test_parameter_gradients_bit_identical_across_threads(neuron, intra_op_threads):
    x_seq, grad = inputs((16, 1 << 18))
    states = [torch.zeros(1 << 18)] * len(neuron.states)
    results = {}
    for threads in (1, 2, 4):
        intra_op_threads(threads)
        out = neuron_forward_backward(neuron, x_seq, states, grad, [grad.flip(0)] * len(states))
        results[threads] = [out["grad_" + a] for a in neuron.tensor_args]
    for threads in (2, 4):
        for a, b in zip(results[threads], results[1]):
            assert torch.equal(a, b), (threads, a.item(), b.item())
