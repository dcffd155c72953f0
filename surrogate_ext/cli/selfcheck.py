"""Self-check: each surrogate's native operators against the float64 reference.

    surrogate-ext selfcheck [--device cpu|cuda] [--n 100000]

Prints, per surrogate and dtype, the largest error of the primitive and of the backward against
the reference (absolute where the reference is below 1, relative above), whether the spiking
forward equals the reference's bit for bit, and exits non-zero if any error is above its dtype's
bound.
"""
from __future__ import annotations

import sys

import torch

import surrogate_ext
from surrogate_ext.cli import options as _cli
from surrogate_ext.core import registry

# The default run's time, for --help: user + sys seconds from /usr/bin/time on the project's
# 2-core x86-64 machine with torch 2.13.0 (wall time was 3-6x that while the machine was shared).
DEFAULT_RUN = "about 10 s (CPU time; longer on a busy machine)"

BOUNDS = {torch.float64: 1e-12, torch.float32: 1e-5, torch.float16: 4e-3, torch.bfloat16: 3e-2}


def check(entry, dtype, device, n, generator):
    x = (torch.randn(n, generator=generator, dtype=torch.float64) * 2).to(dtype)
    g = torch.rand(n, generator=generator, dtype=torch.float64).to(dtype)
    x_dev, g_dev = x.to(device), g.to(device)
    ops = torch.ops.surrogate_ext
    params = entry.example_params
    spikes = getattr(ops, entry.op)(x_dev, *params).cpu()
    spikes_exact = bool(((spikes == entry.spike(x, *params)) | spikes.isnan()).all())
    primitive = getattr(ops, entry.op + "_primitive")(x_dev, *params).cpu().double()
    backward = getattr(ops, entry.op + "_backward")(g_dev, x_dev, *params).cpu().double()
    x64 = x.double()

    def error(got, expected):
        return ((got - expected).abs() / expected.abs().clamp_min(1)).max().item()

    primitive_err = error(primitive, entry.primitive(x64, *params))
    backward_err = error(backward, g.double() * entry.grad(x64, *params))
    return spikes_exact, primitive_err, backward_err


def main(argv=None, prog='surrogate-ext selfcheck') -> int:
    parser = _cli.parser(prog, __doc__, DEFAULT_RUN)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--n", type=int, default=100_000,
                        help="random elements per surrogate and dtype")
    args = parser.parse_args(argv)
    info = surrogate_ext.build_info()
    print(f"surrogate_ext {surrogate_ext.__version__}, built against torch {info['torch_version']}"
          f" ({'CUDA archs ' + ','.join(info['cuda_archs']) if info['cuda'] else 'CPU only'}),"
          f" running on torch {torch.__version__}, device {args.device}")
    header = f"{'surrogate':<26} {'dtype':<9} {'spike exact':>16} {'primitive err':>14} {'backward err':>13}"
    print(header)
    print("-" * len(header))
    generator = torch.Generator().manual_seed(0)
    worst = {}
    failed = False
    for entry in registry.SURROGATES:
        for dtype in BOUNDS:
            exact, p_err, b_err = check(entry, dtype, args.device, args.n, generator)
            ok = exact and p_err <= BOUNDS[dtype] and b_err <= BOUNDS[dtype]
            failed |= not ok
            worst[dtype] = max(worst.get(dtype, 0.0), p_err, b_err)
            print(f"{entry.cls:<26} {str(dtype).replace('torch.', ''):<9} {str(exact):>16} "
                  f"{p_err:>14.3e} {b_err:>13.3e}{'' if ok else '  FAIL'}")
    print("largest error per dtype: " + ", ".join(
        f"{str(d).replace('torch.', '')} {e:.3e}" for d, e in worst.items()))
    print("FAILED" if failed else "all surrogates agree with the reference")
    return 1 if failed else 0

