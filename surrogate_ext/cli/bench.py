"""Benchmark: native operators vs the pure-PyTorch reference vs a same-bytes torch op.

    surrogate-ext bench ops [--sizes 16,20,24] [--dtypes float32,bfloat16,float16]
                            [--threads 1,2] [--surrogates atan,sigmoid] [--repeats 15]
                            [--device cpu|cuda] [--memory] [--json out.json]

For each surrogate (default parameters), size 2^k, dtype and thread count it times, interleaved
within one process (every variant once per round, in an order shuffled each round, so that none
always runs after the same one) and quoting medians:

* forward:  native spiking op   | reference spiking forward  | floor ``x.clone()``
* backward: native ``_backward`` | reference backward passes | floor ``torch.mul(grad, x)``
* fwd+bwd:  native op + backward | reference module + backward | floor clone + mul

The floor ops move the same bytes and allocate their output, as the native ops do. On CUDA the
times come from CUDA events and the table adds the achieved GB/s and its fraction of a measured
device-to-device copy. ``--memory`` also reports the peak extra memory of a forward+backward
(CPU: peak RSS in a fresh subprocess, Linux; CUDA: max_memory_allocated), native vs reference.

On CPU with glibc the allocator's thresholds are fixed (mallopt): every allocation from 8 MiB up
is a fresh mapping, and up to 64 MiB of freed heap is kept. So the native op and the floor pay the
same page faults in every repeat: fresh pages at 2^24 float32 elements, reused ones at 2^20. By
default glibc raises these thresholds as memory is freed; the heap then grew, and a 64 MB output
sometimes came from already-touched heap memory: single cells came out 5x apart between runs.
"""
from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import time

import torch

import surrogate_ext
from surrogate_ext.cli import options as _cli
from surrogate_ext.core import reference, registry

# The default run's time, for --help: user + sys seconds from /usr/bin/time on the project's
# 2-core x86-64 machine with torch 2.13.0 (wall time was 3-6x that while the machine was shared).
DEFAULT_RUN = ("about 10 min, estimated: 66 cells, and each 2^24-element cell alone took about 30 s "
               "of CPU time, most of it page faults (longer on a busy machine)")

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16,
          "float64": torch.float64}


class Timer:
    """Wall-clock on the CPU, CUDA events on a GPU; returns seconds."""

    def __init__(self, device: str):
        self.cuda = device.startswith("cuda")

    def __call__(self, fn) -> float:
        if self.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1e3
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0


def variants(entry, x, g):
    """The nine timed callables of one surrogate, by (pass, implementation)."""
    ops = torch.ops.surrogate_ext
    params = entry.example_params
    native_spike = getattr(ops, entry.op)
    native_backward = getattr(ops, entry.op + "_backward")
    x_req = x.detach().clone().requires_grad_(True)

    def native_fwd_bwd():
        native_spike(x_req, *params).backward(g)
        x_req.grad = None

    def reference_fwd_bwd():
        reference.spiking(entry.op, x_req, *params).backward(g)
        x_req.grad = None

    def floor_fwd_bwd():
        x.clone()
        torch.mul(g, x)

    return {
        ("forward", "native"): lambda: native_spike(x, *params),
        ("forward", "reference"): lambda: reference.spiking(entry.op, x, *params),
        ("forward", "floor"): lambda: x.clone(),
        ("backward", "native"): lambda: native_backward(g, x, *params),
        ("backward", "reference"): lambda: g * entry.grad(x, *params),
        ("backward", "floor"): lambda: torch.mul(g, x),
        ("fwd+bwd", "native"): native_fwd_bwd,
        ("fwd+bwd", "reference"): reference_fwd_bwd,
        ("fwd+bwd", "floor"): floor_fwd_bwd,
    }


def measure(entry, n, dtype, device, repeats, timer):
    gen = torch.Generator(device="cpu").manual_seed(0)
    x = torch.randn(n, generator=gen).to(dtype).to(device)
    g = torch.randn(n, generator=gen).to(dtype).to(device)
    fns = variants(entry, x, g)
    for fn in fns.values():  # warm-up
        fn()
    samples = {key: [] for key in fns}
    order, rng = list(fns), random.Random(n)
    for _ in range(repeats):  # interleaved: every variant once per round, in a shuffled order
        rng.shuffle(order)
        for key in order:
            samples[key].append(timer(fns[key]))
    return {key: statistics.median(v) for key, v in samples.items()}, {
        key: (min(v), max(v)) for key, v in samples.items()}


def copy_bandwidth(n, dtype, device, repeats, timer):
    """Bytes per second of a device-to-device copy (read n, write n)."""
    x = torch.randn(n, device=device).to(dtype)
    y = torch.empty_like(x)
    y.copy_(x)
    t = statistics.median(timer(lambda: y.copy_(x)) for _ in range(repeats))
    return 2 * n * x.element_size() / t


BYTES_PER_ELEMENT_PASSES = {"forward": 2, "backward": 3, "fwd+bwd": 5}


def peak_memory(entry, n, dtype, device, implementation):
    """Peak extra memory (bytes) of one forward+backward."""
    if device.startswith("cuda"):
        x = torch.randn(n, device=device).to(dtype).requires_grad_(True)
        g = torch.randn(n, device=device).to(dtype)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn = variants(entry, x.detach(), g)[("fwd+bwd", implementation)]
        fn()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    return peak_rss_extra(
        f"from surrogate_ext import registry\n"
        f"from surrogate_ext.cli import bench\n"
        f"entry = registry.BY_OP[{entry.op!r}]\n"
        f"x = torch.randn({n}).to(torch.{str(dtype).split('.')[-1]}); g = torch.randn({n}).to(x.dtype)\n"
        f"fn = bench.variants(entry, x, g)[('fwd+bwd', {implementation!r})]",
        "fn()")


def peak_rss_extra(setup: str, run: str) -> int:
    """Peak RSS growth (bytes) while `run` executes, after `setup`, in a fresh Python process
    (Linux: writing 5 to /proc/self/clear_refs resets the peak RSS, VmHWM, to the current RSS)."""
    code = f"""
import torch
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
{setup}
open("/proc/self/clear_refs", "w").write("5")
base = status("VmRSS:")
{run}
print(status("VmHWM:") - base)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def fresh_large_allocations(threshold: int = 8 << 20, keep: int = 64 << 20) -> bool:
    """Makes glibc map every allocation >= threshold afresh, and keep up to `keep` bytes of freed
    heap (both fixed, no longer raised by glibc as memory is freed)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, threshold)) and bool(libc.mallopt(m_trim_threshold, keep))


def main(argv=None, prog='surrogate-ext bench ops'):
    parser = _cli.parser(prog, __doc__, DEFAULT_RUN)
    parser.add_argument("--sizes", default="16,20,24",
                        help="comma-separated log2 of the element counts, each 12..28")
    parser.add_argument("--dtypes", default="float32",
                        help="comma-separated, of: " + ", ".join(DTYPES))
    parser.add_argument("--threads", default="1,2",
                        help="comma-separated CPU thread counts (torch.set_num_threads); "
                             "not used on CUDA")
    parser.add_argument("--surrogates", default="all",
                        help="comma-separated operator names, or all: "
                             + ", ".join(e.op for e in registry.SURROGATES))
    parser.add_argument("--memory", action="store_true",
                        help="also report the peak memory of a forward+backward, native vs reference")
    _cli.add_benchmark_options(parser, repeats=15)
    args = parser.parse_args(argv)

    entries = (registry.SURROGATES if args.surrogates == "all"
               else [registry.BY_OP[s] for s in args.surrogates.split(",")])
    sizes = [int(k) for k in args.sizes.split(",")]
    dtypes = [DTYPES[d] for d in args.dtypes.split(",")]
    threads = [int(t) for t in args.threads.split(",")] if args.device == "cpu" else [None]
    timer = Timer(args.device)
    info = surrogate_ext.build_info()
    fresh = args.device == "cpu" and fresh_large_allocations()
    print(f"surrogate_ext on torch {torch.__version__}, device {args.device}, CPU kernels "
          f"{info['cpu_capability']}, {args.repeats} interleaved repeats, medians"
          + (", allocations >= 8 MiB freshly mapped" if fresh else ""))

    jobs = [(t, k, d, e) for t in threads for k in sizes for d in dtypes for e in entries]
    try:
        from tqdm import tqdm
        progress = tqdm(total=len(jobs), disable=args.no_progress, leave=False, file=sys.stderr)
    except ImportError:  # tqdm is optional
        progress = None
    results = []
    for t, k, d, e in jobs:
        if t is not None:
            torch.set_num_threads(t)
        n = 2 ** k
        medians, spread = measure(e, n, d, args.device, args.repeats, timer)
        row = {"surrogate": e.cls, "log2_n": k, "dtype": str(d).replace("torch.", ""),
               "threads": t, "seconds": {f"{p}/{i}": v for (p, i), v in medians.items()},
               "spread": {f"{p}/{i}": list(v) for (p, i), v in spread.items()}}
        if args.device.startswith("cuda"):
            bw = copy_bandwidth(n, d, args.device, args.repeats, timer)
            row["copy_bytes_per_s"] = bw
        if args.memory:
            row["peak_bytes"] = {i: peak_memory(e, n, d, args.device, i) for i in ("native", "reference")}
        results.append(row)
        if progress is not None:
            progress.update()
    if progress is not None:
        progress.close()
    print_table(results, args.device.startswith("cuda"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": args.device, "torch": torch.__version__, "build_info": info,
                       "results": results}, f, indent=1)
        print(f"wrote {args.json}")


def print_table(results, cuda):
    head = (f"{'surrogate':<24}{'2^k':>4}{'dtype':>9}{'thr':>4} | {'pass':<8}{'native ms':>10}"
            f"{'ref ms':>9}{'floor ms':>9}{'nat/ref':>8}{'nat/floor':>10}")
    if cuda:
        head += f"{'GB/s':>8}{'of copy':>8}"
    print(head)
    print("-" * len(head))
    for r in results:
        for p in ("forward", "backward", "fwd+bwd"):
            s = r["seconds"]
            nat, ref, flo = s[f"{p}/native"], s[f"{p}/reference"], s[f"{p}/floor"]
            line = (f"{r['surrogate']:<24}{r['log2_n']:>4}{r['dtype']:>9}{str(r['threads'] or '-'):>4} | "
                    f"{p:<8}{nat * 1e3:>10.3f}{ref * 1e3:>9.3f}{flo * 1e3:>9.3f}{nat / ref:>8.2f}{nat / flo:>10.2f}")
            if cuda:
                nbytes = BYTES_PER_ELEMENT_PASSES[p] * 2 ** r["log2_n"] * torch.tensor([], dtype=DTYPES[r["dtype"]]).element_size()
                gbs = nbytes / nat / 1e9
                line += f"{gbs:>8.0f}{gbs * 1e9 / r['copy_bytes_per_s']:>8.2f}"
            print(line)
        if "peak_bytes" in r:
            pk = r["peak_bytes"]
            print(f"{'':<41} | peak fwd+bwd memory: native {pk['native'] / 2**20:.1f} MiB, "
                  f"reference {pk['reference'] / 2**20:.1f} MiB")
    # geometric means of the ratios, per pass
    for p in ("forward", "backward", "fwd+bwd"):
        ratios_ref = [r["seconds"][f"{p}/native"] / r["seconds"][f"{p}/reference"] for r in results]
        ratios_floor = [r["seconds"][f"{p}/native"] / r["seconds"][f"{p}/floor"] for r in results]
        print(f"geometric mean {p:<8}: native/reference {statistics.geometric_mean(ratios_ref):.2f}, "
              f"native/floor {statistics.geometric_mean(ratios_floor):.2f}")

