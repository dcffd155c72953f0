"""What the peers' parity tests share: gradients of a callable, the comparison of our gradient
with the float64 oracle and with the peer's, the docs' runnable examples, and the operators a
call launches (the profiler)."""
from __future__ import annotations

import inspect
import pathlib
import re

import torch

from conftest import assert_close_to_oracle, edge_values
from surrogate_ext import registry

ROOT = pathlib.Path(__file__).resolve().parents[1]

# Ours against the peer's own gradient, in the same dtype: the peers' expressions and ours round
# differently (a few ulps), and the peers' lose digits where they cancel (documented).
PEER_TOLERANCES = {torch.float32: dict(rtol=1e-5, atol=1e-6),
                   torch.float64: dict(rtol=1e-7, atol=1e-12)}


def spike_and_grad(fn, x: torch.Tensor):
    """fn(x) and d(sum fn(x))/dx, on a copy of x."""
    x = x.detach().clone().requires_grad_(True)
    y = fn(x)
    y.backward(torch.ones_like(y))
    return y.detach(), x.grad


def parameters(f):
    """A callable's parameters as (name, default): what a drop-in must share with the peer's."""
    return [(p.name, p.default) for p in inspect.signature(f).parameters.values()]


def parity_inputs(row, op_params, dtype, extra=()):
    """0, -0.0, the row's breakpoints, +-0.25, +-0.75, large magnitudes, +-inf, NaN, a random
    spread (conftest.edge_values) and the points a test names, in dtype."""
    x = edge_values(registry.BY_OP[row.op], op_params)
    return torch.cat([x, torch.tensor(extra, dtype=torch.float64)]).to(dtype)


def assert_grad_matches_oracle(row, op_params, grad_scale, x, grad):
    """Our gradient against the float64 reference of the row, times grad_scale."""
    entry = registry.BY_OP[row.op]
    assert_close_to_oracle(grad, x, lambda x64: entry.grad(x64, *op_params) * grad_scale,
                           what=f"{row.name}{tuple(op_params)}")


def python_blocks(path: pathlib.Path):
    """The ```python blocks of a Markdown file."""
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def run_python_blocks(path: pathlib.Path):
    """Runs the file's ```python blocks in order, in one namespace (as a reader would)."""
    blocks = python_blocks(path)
    assert blocks, f"{path} has no ```python block"
    namespace = {"__name__": f"docs_{path.stem}"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"{path.name} block {i + 1}", "exec"), namespace)
    return namespace


def profiled_ops(fn):
    """The names of the operators fn launches at the top level (not those they call inside)."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    events = [e for e in prof.events() if e.name.startswith(("aten::", "surrogate_ext::"))]
    inside = {id(c) for e in events for c in e.cpu_children}
    return [e.name for e in events if id(e) not in inside]
