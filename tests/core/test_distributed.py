"""Distributed training with the engine users already have: DistributedDataParallel, gloo, on the
CPU, 2 processes on this machine, training a small network of our fused neurons and surrogates.
Its gradients (and so its parameters after every step) must equal one process on the whole batch.

float64, so that the only difference, the order in which the two halves' gradients are summed,
stays far below the tolerance."""
from __future__ import annotations

import datetime
import os
import socket
import time

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

pytestmark = pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()),
                                reason="torch.distributed with gloo is not available")

WORLD_SIZE = 2
STEPS = 3
BATCH = 8  # split evenly over the ranks
TIMEOUT_S = 120


def build_network():
    """Linear -> LIF (ATan, native) -> Linear -> parametric LIF (Sigmoid, native, learnable w) ->
    spike count -> Linear; with an elementwise surrogate (Erf's primitive, spiking=False) on the
    input current."""
    import surrogate_ext
    from surrogate_ext.clock_driven import neuron

    class Network(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encode = torch.nn.Linear(6, 12)
            self.squash = surrogate_ext.Erf(alpha=1.5, spiking=False)
            self.lif = neuron.MultiStepLIFNode(tau=2.0, surrogate_function=surrogate_ext.ATan(), backend="native")
            self.hidden = torch.nn.Linear(12, 8)
            self.plif = neuron.MultiStepParametricLIFNode(v_reset=None, surrogate_function=surrogate_ext.Sigmoid(),
                                                          backend="native")
            self.readout = torch.nn.Linear(8, 3)

        def forward(self, x_seq):  # [T, B, 6]
            self.lif.reset()
            self.plif.reset()
            current = 2.0 * self.squash(self.encode(x_seq))
            spikes = self.plif(4.0 * self.hidden(self.lif(current)))
            return self.readout(spikes.mean(0))

    torch.manual_seed(0)
    return Network().double()


def batch(step):
    gen = torch.Generator().manual_seed(100 + step)
    x = torch.rand(5, BATCH, 6, generator=gen, dtype=torch.float64) * 2
    y = torch.randint(0, 3, (BATCH,), generator=gen)
    return x, y


def train(model, rank=0, world_size=1):
    """STEPS steps of SGD on this rank's share of each batch; the gradients and the parameters
    after each step."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    history = []
    share = BATCH // world_size
    for step in range(STEPS):
        x, y = batch(step)
        x, y = x[:, rank * share:(rank + 1) * share], y[rank * share:(rank + 1) * share]
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        grads = [p.grad.detach().clone() for p in model.parameters()]
        optimizer.step()
        history.append((grads, [p.detach().clone() for p in model.parameters()]))
    return history


def _worker(rank, port, out_dir):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD_SIZE,
                            timeout=datetime.timedelta(seconds=TIMEOUT_S))
    try:
        model = torch.nn.parallel.DistributedDataParallel(build_network())
        history = train(model, rank, WORLD_SIZE)
        torch.save(history, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_processes(fn, args, nprocs, timeout_s):
    """torch.multiprocessing with the spawn start method, joined with a deadline: processes still
    running after timeout_s are killed and the test fails rather than hangs."""
    context = mp.start_processes(fn, args=args, nprocs=nprocs, join=False, start_method="spawn")
    deadline = time.monotonic() + timeout_s
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for p in context.processes:
                if p.is_alive():
                    p.kill()
            pytest.fail(f"the {nprocs} processes did not finish within {timeout_s} s")


def test_ddp_gloo_two_processes_match_one_process_on_the_whole_batch(tmp_path):
    run_processes(_worker, (free_port(), str(tmp_path)), WORLD_SIZE, TIMEOUT_S)
    single = train(build_network())
    names = [name for name, _ in build_network().named_parameters()]
    for rank in range(WORLD_SIZE):
        ranked = torch.load(tmp_path / f"rank{rank}.pt")
        for step, ((grads, params), (grads_1, params_1)) in enumerate(zip(ranked, single)):
            for name, g, g1, p, p1 in zip(names, grads, grads_1, params, params_1):
                assert g1.abs().sum() > 0, f"{name} gets no gradient: the test would prove nothing"
                torch.testing.assert_close(g, g1, rtol=1e-10, atol=1e-12,
                                           msg=lambda m: f"rank {rank} step {step} grad {name}: {m}")
                torch.testing.assert_close(p, p1, rtol=1e-10, atol=1e-12,
                                           msg=lambda m: f"rank {rank} step {step} {name}: {m}")
