"""Benchmark of the multi-step neurons: the fused native backend vs the step-by-step torch backend.

    surrogate-ext bench neuron [--neurons 20] [--steps 16] [--kinds if,lif,plif]
                               [--surrogates sigmoid,atan] [--dtype float32]
                               [--threads 2] [--repeats 7] [--device cpu|cuda]
                               [--no-memory] [--json out.json]

For each neuron kind and surrogate it times, interleaved within one process and quoting medians,
the forward (no autograd) and the forward+backward (spike_seq.backward(grad)) of an input of
shape [T, 2^k], with each backend; and the peak extra memory of one forward+backward (CPU: peak
RSS in a fresh subprocess, Linux; CUDA: max_memory_allocated).

On the CPU the native backend's time is mostly the page faults of its fresh [T, N] outputs
(glibc serves allocations over 32 MiB with new mmaps); PyTorch's THP_MEM_ALLOC_ENABLE=1 (huge
pages for large CPU allocations) removes most of that cost.
"""
from __future__ import annotations

import json
import statistics
import sys

import torch

import surrogate_ext
from surrogate_ext.cli import options as _cli
from surrogate_ext.clock_driven import neuron
from surrogate_ext.core import registry
from surrogate_ext.cli.bench import DTYPES, Timer, peak_rss_extra

CLASSES = {"if": neuron.MultiStepIFNode, "lif": neuron.MultiStepLIFNode,
           "plif": neuron.MultiStepParametricLIFNode}
BACKENDS = ("torch", "native")
# The default run's time, for --help: user + sys seconds from /usr/bin/time on the project's
# 2-core x86-64 machine with torch 2.13.0 (wall time was 3-6x that while the machine was shared).
DEFAULT_RUN = ("about 4 min: its timing rounds alone took 220 s of CPU time on 2 threads "
               "(longer on a busy machine)")


def make_case(kind, op, steps, n, dtype, device, backend):
    """(net, x_seq requiring grad, grad) for one benchmark case."""
    gen = torch.Generator().manual_seed(0)
    x = (torch.randn(steps, n, generator=gen) + 0.5).to(dtype).to(device).requires_grad_(True)
    g = torch.randn(steps, n, generator=gen).to(dtype).to(device)
    surrogate = getattr(surrogate_ext, registry.BY_OP[op].cls)()
    net = CLASSES[kind](surrogate_function=surrogate, backend=backend).to(device).to(dtype)
    return net, x, g


def variants(kind, op, steps, n, dtype, device):
    fns = {}
    for backend in BACKENDS:
        net, x, g = make_case(kind, op, steps, n, dtype, device, backend)

        def forward(net=net, x=x):
            with torch.no_grad():
                net.reset()
                net(x)

        def fwd_bwd(net=net, x=x, g=g):
            net.reset()
            net(x).backward(g)
            x.grad = None
            net.zero_grad(set_to_none=True)

        fns[("forward", backend)] = forward
        fns[("fwd+bwd", backend)] = fwd_bwd
    return fns


def peak_memory(kind, op, steps, n, dtype, device, backend):
    """Peak extra memory (bytes) of one forward+backward, the input already allocated."""
    if device.startswith("cuda"):
        net, x, g = make_case(kind, op, steps, n, dtype, device, backend)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        net(x).backward(g)
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    return peak_rss_extra(
        f"from surrogate_ext.cli import bench_neuron\n"
        f"net, x, g = bench_neuron.make_case({kind!r}, {op!r}, {steps}, {n}, "
        f"torch.{str(dtype).split('.')[-1]}, 'cpu', {backend!r})",
        "net(x).backward(g)")


def main(argv=None, prog='surrogate-ext bench neuron'):
    parser = _cli.parser(prog, __doc__, DEFAULT_RUN)
    parser.add_argument("--neurons", type=int, default=20, help="log2 of the number of neurons")
    parser.add_argument("--steps", type=int, default=16, help="time steps T")
    parser.add_argument("--kinds", default="if,lif,plif",
                        help="comma-separated neuron kinds, of: if, lif, plif")
    parser.add_argument("--surrogates", default="sigmoid,atan",
                        help="comma-separated operator names, of: "
                             + ", ".join(e.op for e in registry.SURROGATES))
    parser.add_argument("--dtype", default="float32", help="one of: " + ", ".join(DTYPES))
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads (torch.set_num_threads; default: torch's choice)")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the peak-memory measurement (a subprocess per variant)")
    _cli.add_benchmark_options(parser, repeats=7)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    dtype, n = DTYPES[args.dtype], 2 ** args.neurons
    timer = Timer(args.device)
    print(f"multi-step neurons, T={args.steps}, 2^{args.neurons} neurons, {args.dtype}, device "
          f"{args.device}, {torch.get_num_threads()} threads, {args.repeats} interleaved repeats, "
          f"medians")
    jobs = [(k, op) for k in args.kinds.split(",") for op in args.surrogates.split(",")]
    try:
        from tqdm import tqdm
        jobs_iter = tqdm(jobs, disable=args.no_progress, leave=False, file=sys.stderr)
    except ImportError:
        jobs_iter = jobs
    results = []
    for kind, op in jobs_iter:
        fns = variants(kind, op, args.steps, n, dtype, args.device)
        for _ in range(2):  # warm-up, the allocator's caches included
            for fn in fns.values():
                fn()
        samples = {key: [] for key in fns}
        for _ in range(args.repeats):
            for key, fn in fns.items():
                samples[key].append(timer(fn))
        row = {"neuron": kind, "surrogate": op,
               "seconds": {f"{p}/{b}": statistics.median(v) for (p, b), v in samples.items()},
               "spread": {f"{p}/{b}": [min(v), max(v)] for (p, b), v in samples.items()}}
        if not args.no_memory:
            row["peak_bytes"] = {b: peak_memory(kind, op, args.steps, n, dtype, args.device, b)
                                 for b in BACKENDS}
        results.append(row)

    head = (f"{'neuron':<7}{'surrogate':<12}| {'pass':<8}{'torch ms':>10}{'native ms':>11}"
            f"{'torch/native':>13}")
    print(head + (f"{'peak MiB torch':>16}{'native':>8}{'ratio':>7}" if not args.no_memory else ""))
    print("-" * (len(head) + (31 if not args.no_memory else 0)))
    for r in results:
        for p in ("forward", "fwd+bwd"):
            t, nat = r["seconds"][f"{p}/torch"], r["seconds"][f"{p}/native"]
            line = f"{r['neuron']:<7}{r['surrogate']:<12}| {p:<8}{t * 1e3:>10.1f}{nat * 1e3:>11.1f}{t / nat:>13.2f}"
            if p == "fwd+bwd" and "peak_bytes" in r:
                pt, pn = r["peak_bytes"]["torch"] / 2**20, r["peak_bytes"]["native"] / 2**20
                line += f"{pt:>16.0f}{pn:>8.0f}{pn / pt:>7.2f}"
            print(line)
    for p in ("forward", "fwd+bwd"):
        speedups = [r["seconds"][f"{p}/torch"] / r["seconds"][f"{p}/native"] for r in results]
        print(f"geometric mean {p:<8}: torch/native {statistics.geometric_mean(speedups):.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": args.device, "torch": torch.__version__, "steps": args.steps,
                       "log2_neurons": args.neurons, "dtype": args.dtype, "results": results}, f,
                      indent=1)
        print(f"wrote {args.json}")

