"""Tensors past 2^31 elements: every index past 2^31 must reach the element it names (no 32-bit
wrap-around, no truncated loop count). Each full-size check runs in a subprocess of its own, which
reports its peak RSS, so that a crash fails the test rather than the run and the memory is given
back at once.

The CPU checks need about 12.5 GiB each (float16: three tensors of 4 GiB at a time) and a few
minutes, so they run only when asked for and only when the machine has the memory free:

    SURROGATE_EXT_LARGE_TESTS=1 python -m pytest tests/core/test_large_tensors.py -v -s

(-s shows each check's peak memory and time). The CUDA checks run whenever a GPU with enough free
memory is present. By default only the small-size versions run: the same checks on tensors of
about 2^20 elements with the "far end" moved down to them, and a wrap-around fake operator that
the checks must catch.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time

import pytest
import torch

from surrogate_ext import registry

LARGE = os.environ.get("SURROGATE_EXT_LARGE_TESTS") == "1"
ENTRY = registry.BY_OP["sigmoid"]  # an exp, a division: a real kernel, not a copy
ELEMENTWISE_N = 2**31 + 2**20 + 3  # past 2^31 with a tail that is no whole vector
NEURON_T, NEURON_N = 2049, 2**20 + 1  # T N = 2^31 + 2^20 + 2049 + ...: the last ~2^20 cells past 2^31
CHECK = 4096  # elements compared at each place
GIB = 2**30


def _ops():
    return torch.ops.surrogate_ext


def fill_pattern(t, seed=0):
    """Values in [-4, 4) that depend on the position, so that an element read from 2^31 or 2^32
    places away holds a different value: a hashed chunk of 2^24 values, shifted by 0.7311 (mod 8)
    from one chunk to the next. Filled in place through one preallocated float32 buffer, so that
    no full-size temporary and no per-chunk allocation (page faults) is needed."""
    flat = t.view(-1)
    chunk = 1 << 24
    i = torch.arange(chunk, dtype=torch.int64, device=t.device)
    base = ((i * 2654435761 + seed * 97) % 1048573).to(torch.float32) * (8.0 / 1048573)
    buffer = torch.empty(chunk, dtype=torch.float32, device=t.device)
    for index, start in enumerate(range(0, flat.numel(), chunk)):
        end = min(start + chunk, flat.numel())
        torch.add(base, index * 0.7310585786, out=buffer)
        buffer.remainder_(8.0).sub_(4.0)
        flat[start:end].copy_(buffer[:end - start])
    return t


def places(n, boundaries):
    """Slices of CHECK elements: the start, both sides of each boundary below n, and the end."""
    starts = [0] + [b - CHECK // 2 for b in boundaries if CHECK // 2 <= b < n - CHECK // 2] + [n - CHECK]
    return [slice(max(s, 0), max(s, 0) + CHECK) for s in starts]


def _assert_equal_at(full, expected_of, where, what):
    for s in where:
        expected = expected_of(s)
        got = full[s]
        assert torch.equal(got, expected), f"{what} at [{s.start}:{s.stop}]: {int((got != expected).sum())} differ"


def check_elementwise(n, dtype=torch.float16, device="cpu", boundaries=(2**31, 2**32), ops=None):
    """op, op_primitive and op_backward (a full and a broadcast grad_output) on n elements, compared
    bit for bit at the start, around each boundary and at the end with the same operators run on
    the small slices alone."""
    ops = ops or _ops()
    params = ENTRY.defaults
    spike, primitive, backward = (getattr(ops, ENTRY.op + s) for s in ("", "_primitive", "_backward"))
    x = fill_pattern(torch.empty(n, dtype=dtype, device=device))
    where = places(n, boundaries)
    for name, fn in (("spike", spike), ("primitive", primitive)):
        y = fn(x, *params)
        _assert_equal_at(y, lambda s: fn(x[s].clone(), *params), where, name)
        del y
    g = fill_pattern(torch.empty(n, dtype=dtype, device=device), seed=1)
    y = backward(g, x, *params)
    _assert_equal_at(y, lambda s: backward(g[s].clone(), x[s].clone(), *params), where, "backward")
    del y, g
    g0 = torch.full((), 0.75, dtype=dtype, device=device).expand(n)
    y = backward(g0, x, *params)
    _assert_equal_at(y, lambda s: backward(g0[s], x[s].clone(), *params), where, "backward, broadcast grad_output")


def _columns(n):
    return sorted({0, 1, n // 2, n - 2, n - 1} | {c for c in range(3, n, max(1, n // 61))})


def check_neuron(steps, n, dtype=torch.float16, device="cpu", ops=None):
    """The LIF node (hard reset, decay_input) forward and backward on [steps, n]: the spikes,
    potentials and gradients of a set of columns, the first and last among them, equal those of
    the same columns run alone (neurons are independent), every step included: bit for bit, but
    for float32/64 gradients, which the CPU computes with the vector exp in SIMD lanes and with
    libm's in the scalar tail, so a column's last bits depend on where it lands (rtol 1e-5 there;
    a wrapped index is off by far more). x_seq doubles as grad_spike_seq: one full-size tensor less."""
    ops = ops or _ops()
    forward, backward = ops.lif_multistep, ops.lif_multistep_backward
    config = (2.0, True, False, 1.0, 0.0, False, ENTRY.op, [float(p) for p in ENTRY.defaults])
    x_seq = fill_pattern(torch.empty(steps, n, dtype=dtype, device=device))
    v_init = fill_pattern(torch.empty(n, dtype=dtype, device=device), seed=2)
    cols = torch.tensor(_columns(n), device=device)
    x_cols, v_cols = x_seq[:, cols].contiguous(), v_init[cols].contiguous()
    spikes_cols, v_seq_cols, _ = forward(x_cols, v_cols, *config)
    spikes, v_seq, _ = forward(x_seq, v_init, *config)
    assert torch.equal(spikes[:, cols], spikes_cols), "spikes"
    assert torch.equal(v_seq[:, cols], v_seq_cols), "v_seq"
    assert bool(spikes[-1].any()) and bool((spikes[-1] == 0).any()), "the last step should have both"
    del spikes
    grad_x, grad_v_init = backward(x_seq, None, None, x_seq, v_init, v_seq, *config)
    grad_x_cols, grad_v_cols = backward(x_cols, None, None, x_cols, v_cols, v_seq_cols, *config)
    exact = dict(rtol=0, atol=0) if dtype in (torch.float16, torch.bfloat16) else dict(rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad_x[:, cols], grad_x_cols, **exact, msg="grad_x_seq")
    torch.testing.assert_close(grad_v_init[cols], grad_v_cols, **exact, msg="grad_v_init")


# --- The full-size checks, each in a subprocess ----------------------------------------------

def mem_available():
    try:
        with open("/proc/meminfo") as f:
            fields = dict(line.split(":", 1) for line in f)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError):
        return 0


def run_isolated(call):
    """Runs `call` (an expression over this module, `t`) in a fresh interpreter; returns its peak
    RSS and wall time. A crash or a failed check fails the test with the child's output."""
    code = ("import json, resource, sys, time; sys.path[:0] = {path!r}; import test_large_tensors as t; "
            "start = time.perf_counter(); {call}; "
            "print(json.dumps(dict(seconds=time.perf_counter() - start, "
            "peak_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)))").format(
                path=[os.path.dirname(os.path.abspath(__file__)), os.path.dirname(os.path.dirname(os.path.abspath(__file__)))] + sys.path, call=call)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, f"exit status {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    report = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"\n{call}: {report['seconds']:.1f} s, peak RSS {report['peak_rss'] / GIB:.2f} GiB")
    return report


def _needs(bytes_needed):
    if not LARGE:
        pytest.skip("set SURROGATE_EXT_LARGE_TESTS=1 to run (about 12.5 GiB and a few minutes each)")
    available = mem_available()
    if available < bytes_needed + 2 * GIB:
        pytest.skip(f"needs {(bytes_needed + 2 * GIB) / GIB:.1f} GiB free, {available / GIB:.1f} GiB available")


def test_cpu_float16_elementwise_past_2_31():
    tensor = ELEMENTWISE_N * 2
    _needs(3 * tensor)
    report = run_isolated(f"t.check_elementwise({ELEMENTWISE_N})")
    assert report["peak_rss"] < 3 * tensor + GIB, "more than x, grad_output and one output at a time"


def test_cpu_float16_fused_neuron_past_2_31():
    tensor = NEURON_T * NEURON_N * 2
    _needs(3 * tensor)
    report = run_isolated(f"t.check_neuron({NEURON_T}, {NEURON_N})")
    assert report["peak_rss"] < 3 * tensor + GIB, "more than x_seq, v_seq and one more [T, N] at a time"


def _cuda_free():
    return torch.cuda.mem_get_info()[0] if torch.cuda.is_available() else 0


@pytest.mark.skipif(_cuda_free() < 14 * GIB, reason="needs a CUDA device with 14 GiB free")
@pytest.mark.parametrize("n", [ELEMENTWISE_N, 2**32 + 2**20 + 3], ids=["2^31", "2^32"])
def test_cuda_float16_elementwise_past_2_31(n):
    if 3 * 2 * n + GIB > _cuda_free():
        pytest.skip("not enough free GPU memory")
    check_elementwise(n, device="cuda")
    torch.cuda.empty_cache()


@pytest.mark.skipif(_cuda_free() < 14 * GIB, reason="needs a CUDA device with 14 GiB free")
@pytest.mark.parametrize("steps,n", [(NEURON_T, NEURON_N), (1, 2**31 + 65)], ids=["T*N", "N"])
def test_cuda_float16_fused_neuron_past_2_31(steps, n):
    """T N past 2^31 (t N + n in 64 bits), and N itself past 2^31 (the neuron index)."""
    if 4 * 2 * steps * n + 4 * 2 * n + GIB > _cuda_free():
        pytest.skip("not enough free GPU memory")
    check_neuron(steps, n, device="cuda")
    torch.cuda.empty_cache()


# --- The same logic at small sizes (CI) -------------------------------------------------------

SMALL_N = 2**20 + 3
SMALL_BOUNDARIES = (2**19, 2**20)


def test_small_elementwise_check():
    check_elementwise(SMALL_N, boundaries=SMALL_BOUNDARIES)


def test_small_checks_in_a_subprocess():
    """The full-size tests' harness: the child runs, reports, and its peak RSS is plausible."""
    report = run_isolated(f"t.check_elementwise({SMALL_N}, boundaries={SMALL_BOUNDARIES}); "
                          "t.check_neuron(33, 4099)")
    assert 0 < report["peak_rss"] < 4 * GIB and report["seconds"] > 0


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32], ids=str)
def test_small_neuron_check(dtype):
    check_neuron(33, 4099, dtype=dtype)


class _Wrapping:
    """A stand-in for torch.ops.surrogate_ext whose operators compute element i >= `period` from
    element i - period: what a 32-bit index that wraps at 2^31 would do, with 2^31 moved down."""

    def __init__(self, period):
        self.period = period

    def __getattr__(self, name):
        real = getattr(torch.ops.surrogate_ext, name)
        period = self.period

        def call(*args):
            out = real(*args)
            results = out if isinstance(out, tuple) else (out,)
            for r in results:
                flat = r.view(-1)
                if flat.numel() > period:
                    flat[period:] = flat[:flat.numel() - period].clone()
            return out
        return call


def test_the_checks_catch_a_wrapping_index():
    with pytest.raises(AssertionError, match="spike|primitive"):
        check_elementwise(SMALL_N, boundaries=SMALL_BOUNDARIES, ops=_Wrapping(2**19 + 5))
    with pytest.raises(AssertionError, match="spikes|v_seq"):
        check_neuron(33, 4099, ops=_Wrapping(33 * 4099 // 2 + 7))
