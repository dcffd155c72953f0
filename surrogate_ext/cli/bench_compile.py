"""Benchmark under torch.compile: surrogate_ext against pure-PyTorch surrogates, and the fused
neurons compiled against eager.

    surrogate-ext bench compile [--surrogates atan,sigmoid|all] [--sizes 20] [--steps 16]
                                [--threads 1,2] [--cases a,b,c] [--repeats 7]
                                [--clock wall|cpu] [--json FILE]

Every figure is one forward+backward (``y.backward(grad)`` with a random ``grad``, all outputs
materialised), float32 unless ``--dtype``, timed with the wall clock, interleaved within one
process (each round runs every variant of a case once, in an order shuffled each round), and
quoted as the median over the rounds with the spread (min-max). The first compiled call, which
compiles the forward and the backward, is timed separately as the compile time. Inductor's and
AOTAutograd's on-disk caches are off (``--cache`` turns them on), so that compile times are cold:
with them on, "compiled ours" of (a) and (b) compiles in a fraction of a second, because its graph
after decomposition is the one "compiled reference" has just put in the cache.

Cases, for each surrogate (default parameters), size 2^k and thread count:

* (a) ``sg(v - 1.0) * w``: v and w of 2^k elements, both requiring grad;
* (b) a user-written LIF loop over T steps (tau 2, threshold 1, hard reset to 0) calling the
  surrogate module each step, on x_seq of shape [T, 2^k];
* (c) the fused ``MultiStepIFNode``/``MultiStepLIFNode``/``MultiStepParametricLIFNode``
  (backend='native') on x_seq of shape [T, 2^k].

Variants of (a) and (b): eager with our module; compiled with the pure-PyTorch module of
``surrogate_ext.reference`` (the surrogate as plain formulas); compiled with our module. The
table gives compiled ours / compiled reference. Variants of (c): eager; compiled with the
neuron's state left on the module (``reset(); node(x)``: v and v_seq are outputs of the compiled
graph, so AOTAutograd gives its backward a zero gradient of v_seq's size); the same with
``store_v_seq=False`` ("v only": only v, one step, leaves the graph); compiled with the state
reset inside the compiled function after the forward (``node(x); reset()``: nothing escapes). The
table gives compiled / eager for the three, and, for LIF, how much faster the eager fused neuron
is than the faster compiled loop of (b) with the same surrogate.

Every cell compiles afresh (``torch._dynamo.reset()``): compiled code is specialised to the
thread count, and each case compiles the same functions for every surrogate. On CPU with glibc the allocator thresholds are fixed as in
``surrogate-ext bench ops`` (allocations from 8 MiB are fresh mappings), so that every variant pays
the same page faults.
"""
from __future__ import annotations

import json
import random
import statistics
import sys
import time

import torch

import surrogate_ext
from surrogate_ext.cli import options as _cli
from surrogate_ext.clock_driven import neuron
from surrogate_ext.core import reference, registry
from surrogate_ext.cli.bench import DTYPES, Timer, fresh_large_allocations

CASES = ("a", "b", "c")
NEURONS = {"if": neuron.MultiStepIFNode, "lif": neuron.MultiStepLIFNode,
           "plif": neuron.MultiStepParametricLIFNode}
THRESHOLD, TAU = 1.0, 2.0
# (c): the eager neuron, and compiled with the state left on the module (v_seq and v, or with
# store_v_seq=False only v) or reset inside the compiled function (nothing escapes).
NEURON_VARIANTS = ("eager", "compiled, state kept", "compiled, v only", "compiled, reset inside")
EXPECTED_DEFAULT_RUN = ("20 to 25 minutes on this project's 2-core x86-64 machine, compiles included "
                        "(with --repeats 11 it took 24 minutes there, other jobs on the cores)")


def expression(sg, v, w):
    """(a): a surrogate inside an expression."""
    return sg(v - THRESHOLD) * w


def lif_loop(sg, x_seq):
    """(b): a LIF neuron written by hand, as a user would without our fused neurons:
    H = V + (X - V) / tau, S = sg(H - threshold), V = H (1 - S) (hard reset to 0)."""
    v = torch.zeros_like(x_seq[0])
    spikes = []
    for t in range(x_seq.shape[0]):
        h = v + (x_seq[t] - v) / TAU
        spike = sg(h - THRESHOLD)
        v = h * (1.0 - spike)
        spikes.append(spike)
    return torch.stack(spikes)


class ProcessTimer:
    """CPU time of the whole process (user + system, every thread), in seconds. On a machine
    shared with other jobs it leaves out the time spent waiting for a core, so with one thread it
    compares the work of two variants more steadily than the wall clock does; with several threads
    it also counts the time OpenMP threads spin while they wait for each other."""

    def __call__(self, fn) -> float:
        t0 = time.process_time()
        fn()
        return time.process_time() - t0


def _compile(fn):
    return torch.compile(fn, fullgraph=True)


def _fwd_bwd(forward, grad, *leaves):
    """A callable running forward().backward(grad), then dropping the leaves' gradients."""
    def run():
        forward().backward(grad)
        for leaf in leaves:
            leaf.grad = None
    return run


def surrogate_variants(case, entry, n, steps, dtype, device):
    """{variant: callable} of case (a) or (b) for one surrogate."""
    gen = torch.Generator().manual_seed(0)
    ours = getattr(surrogate_ext, entry.cls)()
    pure = getattr(reference, entry.cls)()
    if case == "a":
        v = (torch.randn(n, generator=gen) + THRESHOLD).to(dtype).to(device).requires_grad_(True)
        w = torch.randn(n, generator=gen).to(dtype).to(device).requires_grad_(True)
        grad = torch.randn(n, generator=gen).to(dtype).to(device)
        compiled_pure = _compile(lambda v, w: expression(pure, v, w))
        compiled_ours = _compile(lambda v, w: expression(ours, v, w))
        return {
            "eager ours": _fwd_bwd(lambda: expression(ours, v, w), grad, v, w),
            "compiled reference": _fwd_bwd(lambda: compiled_pure(v, w), grad, v, w),
            "compiled ours": _fwd_bwd(lambda: compiled_ours(v, w), grad, v, w),
        }
    x = (torch.randn(steps, n, generator=gen) + 0.5).to(dtype).to(device).requires_grad_(True)
    grad = torch.randn(steps, n, generator=gen).to(dtype).to(device)
    compiled_pure = _compile(lambda x: lif_loop(pure, x))
    compiled_ours = _compile(lambda x: lif_loop(ours, x))
    return {
        "eager ours": _fwd_bwd(lambda: lif_loop(ours, x), grad, x),
        "compiled reference": _fwd_bwd(lambda: compiled_pure(x), grad, x),
        "compiled ours": _fwd_bwd(lambda: compiled_ours(x), grad, x),
    }


def neuron_variants(kind, entry, n, steps, dtype, device):
    """{variant: callable} of case (c): one fused neuron, eager and compiled three ways."""
    gen = torch.Generator().manual_seed(0)
    x = (torch.randn(steps, n, generator=gen) + 0.5).to(dtype).to(device).requires_grad_(True)
    grad = torch.randn(steps, n, generator=gen).to(dtype).to(device)
    variants = {}
    for name in NEURON_VARIANTS:
        node = NEURONS[kind](surrogate_function=getattr(surrogate_ext, entry.cls)(), backend="native",
                             store_v_seq=name != "compiled, v only").to(device).to(dtype)
        leaves = (x,) + tuple(node.parameters())

        def reset_then_forward(x, node=node):
            node.reset()
            return node(x)

        def forward_then_reset(x, node=node):
            spikes = node(x)
            node.reset()
            return spikes

        fn = {"eager": reset_then_forward,
              "compiled, state kept": _compile(reset_then_forward),
              "compiled, v only": _compile(reset_then_forward),
              "compiled, reset inside": _compile(forward_then_reset)}[name]
        variants[name] = _fwd_bwd(lambda fn=fn: fn(x), grad, *leaves)
    return variants


def measure(variants, repeats, timer, seed):
    """Compile times (the first call of each compiled variant), medians and spreads."""
    compile_seconds = {}
    for name, fn in variants.items():
        t = timer(fn)
        if name.startswith("compiled"):
            compile_seconds[name] = t
        fn()  # warm-up
    samples = {name: [] for name in variants}
    order, rng = list(variants), random.Random(seed)
    for _ in range(repeats):
        rng.shuffle(order)
        for name in order:
            samples[name].append(timer(variants[name]))
    return ({name: statistics.median(s) for name, s in samples.items()},
            {name: (min(s), max(s)) for name, s in samples.items()}, compile_seconds)


def main(argv=None, prog='surrogate-ext bench compile'):
    parser = _cli.parser(prog, __doc__, EXPECTED_DEFAULT_RUN + " '--surrogates all' runs every "
                         "registry row, about 5.5 times as long")
    parser.add_argument("--surrogates", default="atan,sigmoid",
                        help="comma-separated operator names, or 'all' (every registry row)")
    parser.add_argument("--sizes", default="20",
                        help="comma-separated log2 sizes: elements in (a), neurons in (b), (c)")
    parser.add_argument("--steps", type=int, default=16, help="T, the time steps of (b) and (c)")
    parser.add_argument("--threads", default="1,2",
                        help="comma-separated CPU thread counts (torch.set_num_threads)")
    parser.add_argument("--cases", default="a,b,c", help="comma-separated cases among a, b, c")
    parser.add_argument("--neurons", default="if,lif,plif",
                        help="comma-separated neuron kinds of (c)")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved rounds per cell")
    parser.add_argument("--dtype", default="float32", choices=sorted(DTYPES),
                        help="the inputs' dtype")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--clock", default="wall", choices=("wall", "cpu"),
                        help="what is timed: the wall clock (CUDA events on a GPU), or the process's "
                             "CPU time (steadier on a shared machine with --threads 1)")
    parser.add_argument("--cache", action="store_true",
                        help="keep Inductor's and AOTAutograd's on-disk caches on (compile times "
                             "then include cache hits)")
    parser.add_argument("--json", default=None, help="also write every figure to this file")
    args = parser.parse_args(argv)
    if not args.cache:
        import torch._functorch.config
        import torch._inductor.config
        torch._inductor.config.fx_graph_cache = False
        torch._functorch.config.enable_autograd_cache = False

    entries = (list(registry.SURROGATES) if args.surrogates == "all"
               else [registry.BY_OP[s] for s in args.surrogates.split(",")])
    sizes = [int(k) for k in args.sizes.split(",")]
    cases = args.cases.split(",")
    unknown = set(cases) - set(CASES)
    if unknown:
        parser.error(f"unknown cases {sorted(unknown)}; choose among {', '.join(CASES)}")
    kinds = args.neurons.split(",")
    threads = [int(t) for t in args.threads.split(",")] if args.device == "cpu" else [None]
    dtype = DTYPES[args.dtype]
    if args.clock == "cpu" and args.device != "cpu":
        parser.error("--clock cpu times the CPU; use the wall clock (CUDA events) on a GPU")
    timer = ProcessTimer() if args.clock == "cpu" else Timer(args.device)
    fresh = args.device == "cpu" and fresh_large_allocations()
    print(f"surrogate_ext.bench_compile: torch {torch.__version__}, {args.device}, {args.dtype}, "
          f"T={args.steps}, {args.repeats} interleaved rounds, {args.clock} clock, "
          f"medians [min-max] in ms"
          + (", allocations >= 8 MiB freshly mapped" if fresh else ""), flush=True)

    results = []
    for t in threads:
        if t is not None:
            torch.set_num_threads(t)
        for k in sizes:
            n = 2 ** k
            jobs = [(c, None, e) for c in cases if c != "c" for e in entries]
            jobs += [("c", kind, e) for kind in kinds for e in entries] if "c" in cases else []
            for case, kind, entry in jobs:
                # Every job compiles afresh: compiled kernels are specialised to the thread count,
                # and the functions compiled are the same code objects for every surrogate (past
                # torch._dynamo.config.recompile_limit they would silently run eagerly).
                torch._dynamo.reset()
                if case == "c":
                    variants = neuron_variants(kind, entry, n, args.steps, dtype, args.device)
                else:
                    variants = surrogate_variants(case, entry, n, args.steps, dtype, args.device)
                medians, spreads, compile_seconds = measure(variants, args.repeats, timer, seed=k)
                row = {"case": case, "neuron": kind, "surrogate": entry.op, "log2_n": k,
                       "threads": t, "seconds": medians,
                       "spread": {v: list(s) for v, s in spreads.items()},
                       "compile_seconds": compile_seconds}
                results.append(row)
                print_row(row, args.steps, flush=True)
    print_summary(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": torch.__version__, "device": args.device, "dtype": args.dtype,
                       "clock": args.clock,
                       "steps": args.steps, "repeats": args.repeats,
                       "build_info": surrogate_ext.build_info(), "results": results}, f, indent=1)
        print(f"wrote {args.json}")


def _cell(row, variant):
    lo, hi = row["spread"][variant]
    return f"{row['seconds'][variant] * 1e3:.2f} [{lo * 1e3:.2f}-{hi * 1e3:.2f}]"


def print_row(row, steps, flush=False):
    where = f"2^{row['log2_n']}, {row['threads'] or '-'} thr"
    compile_text = ", ".join(f"{v.split(', ')[-1] if v.startswith('compiled, ') else v.split()[-1]} "
                             f"{s:.1f}" for v, s in row["compile_seconds"].items())
    if row["case"] == "c":
        e = row["seconds"]["eager"]
        cells = "".join(f" | {v} {_cell(row, v)}" for v in NEURON_VARIANTS)
        ratios = ", ".join(f"{v.split(', ')[-1]} {row['seconds'][v] / e:.3f}" for v in NEURON_VARIANTS[1:])
        print(f"(c) {row['neuron']:<4} {row['surrogate']:<26} {where}{cells}"
              f" | compiled/eager: {ratios} | compile s: {compile_text}", flush=flush)
        return
    label = "(a) sg(v-1)*w" if row["case"] == "a" else f"(b) LIF loop T={steps}"
    ratio = row["seconds"]["compiled ours"] / row["seconds"]["compiled reference"]
    print(f"{label} {row['surrogate']:<26} {where} | eager ours {_cell(row, 'eager ours')}"
          f" | compiled reference {_cell(row, 'compiled reference')}"
          f" | compiled ours {_cell(row, 'compiled ours')}"
          f" | compiled ours/reference {ratio:.3f} | compile s: {compile_text}", flush=flush)


def print_summary(results):
    """The targets' ratios, summarised per case and thread count."""
    print("\nsummary (ratios of medians; min-max over the surrogates or neurons):")
    keys = sorted({(r["case"], r["log2_n"], r["threads"] or 0) for r in results})
    for case, k, t in keys:
        rows = [r for r in results if (r["case"], r["log2_n"], r["threads"] or 0) == (case, k, t)]
        if case in ("a", "b"):
            ratios = [r["seconds"]["compiled ours"] / r["seconds"]["compiled reference"] for r in rows]
            print(f"  ({case}) 2^{k}, {t or '-'} thr: compiled ours / compiled reference "
                  f"{min(ratios):.3f}-{max(ratios):.3f} (target <= 1.0), over {len(rows)} surrogates")
            continue
        for variant in NEURON_VARIANTS[1:]:
            ratios = [r["seconds"][variant] / r["seconds"]["eager"] for r in rows]
            print(f"  (c) 2^{k}, {t or '-'} thr: {variant} / eager {min(ratios):.3f}-"
                  f"{max(ratios):.3f} (target <= 1.05), over {len(rows)} neurons")
        loops = {r["surrogate"]: min(r["seconds"]["compiled ours"], r["seconds"]["compiled reference"])
                 for r in results if (r["case"], r["log2_n"], r["threads"] or 0) == ("b", k, t)}
        speedups = [loops[r["surrogate"]] / r["seconds"]["eager"] for r in rows
                    if r["neuron"] == "lif" and r["surrogate"] in loops]
        if speedups:
            print(f"  (c) vs (b) 2^{k}, {t or '-'} thr: faster compiled loop / eager fused LIF "
                  f"{min(speedups):.2f}-{max(speedups):.2f} (target >= 1.5), over "
                  f"{len(speedups)} surrogates")

