"""Plots each surrogate: the heaviside step, the primitive g(x) and the surrogate gradient g'(x).

    surrogate-ext plot [--surrogate atan ...] [--out docs/gallery] [--format svg|png]

One figure per surrogate, on x in [-2, 2], with the class's default parameters, computed by the
native operators in float64: the step is the forward of ``<op>``, g(x) is ``<op>_primitive``, and
g'(x) is what autograd returns through ``<op>`` (the gradient a training backward gets). The
gallery of docs/spikingjelly.md (``docs/gallery``) is this program's output; with the same
matplotlib, a rerun writes byte-identical SVGs.
"""
from __future__ import annotations

import os
import sys

import torch

from surrogate_ext.cli import options as _cli
from surrogate_ext.core import registry  # importing the package loads the operators

# The default run's time, for --help: user + sys seconds from /usr/bin/time on the project's
# 2-core x86-64 machine with torch 2.13.0 (wall time was 3-6x that while the machine was shared).
DEFAULT_RUN = "about 6 s (CPU time; longer on a busy machine)"

# Applied over matplotlib's defaults (not the user's matplotlibrc). A fixed hash salt (and no date,
# in savefig) make a rerun write the same bytes; text is kept as text, in matplotlib's bundled
# font, which keeps the SVGs small and their layout the same everywhere.
RC = {"svg.hashsalt": "surrogate_ext", "svg.fonttype": "none", "font.size": 9,
      "font.sans-serif": ["DejaVu Sans"]}


def curves(entry):
    """x, the spike s(x), g(x), g'(x) at the default (or example) parameters, from the native operators."""
    x = torch.arange(-2000, 2001, dtype=torch.float64) / 1000  # step 0.001, x = 0 exactly
    params = entry.example_params
    ops = torch.ops.surrogate_ext
    primitive = getattr(ops, entry.op + "_primitive")(x, *params)
    x_grad = x.clone().requires_grad_(True)
    spikes = getattr(ops, entry.op)(x_grad, *params)
    spikes.sum().backward()
    return x, spikes.detach(), primitive, x_grad.grad


def title(entry) -> str:
    values = ", ".join(f"{p.name}={v!r}" for p, v in zip(entry.params, entry.example_params))
    text = f"{entry.cls}({values})"
    return text if len(text) <= 48 else f"{entry.cls}(\n{values})"  # two lines: fits the figure


def draw(entry, path: str, fmt: str) -> None:
    from matplotlib.figure import Figure  # no pyplot: no GUI backend; PNG is drawn by Agg

    x, step, primitive, grad = (t.numpy() for t in curves(entry))
    fig = Figure(figsize=(4.2, 2.8))
    ax = fig.add_subplot()
    ax.plot(x, step, "-.", color="0.45", label="heaviside(x)" if entry.threshold else "spike(x)")
    ax.plot(x, primitive, label="primitive g(x)")
    ax.plot(x, grad, label="gradient g'(x)")
    ax.set(xlim=(-2, 2), xlabel="x", title=title(entry))
    ax.grid(linestyle="--", alpha=0.5)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, format=fmt, dpi=150, metadata={"Date": None} if fmt == "svg" else None)


def main(argv=None, prog='surrogate-ext plot') -> int:
    parser = _cli.parser(prog, __doc__, DEFAULT_RUN)
    names = list(registry.BY_OP)
    parser.add_argument("--surrogate", action="append", choices=names, metavar="NAME",
                        help="operator name, repeatable (default: all): " + ", ".join(names))
    parser.add_argument("--out", default=os.path.join("docs", "gallery"), metavar="DIR",
                        help="output folder, relative to the current directory; from the "
                             "repository's root the default is the gallery of docs/spikingjelly.md")
    parser.add_argument("--format", choices=["svg", "png"], default="svg", help="image format")
    args = parser.parse_args(argv)
    try:
        import matplotlib.style
    except ImportError:
        sys.exit("surrogate_ext.plot needs matplotlib: pip install matplotlib "
                 "(or pip install 'surrogate_ext[plot]')")
    ops = args.surrogate or names
    os.makedirs(args.out, exist_ok=True)
    with matplotlib.style.context(RC, after_reset=True):
        for op in ops:
            path = os.path.join(args.out, f"{op}.{args.format}")
            draw(registry.BY_OP[op], path, args.format)
            print(path)
    return 0

