"""Fake (meta) kernels for every operator, generated from the registry, so that
torch.compile(fullgraph=True) and torch.export trace the operators. They check their inputs as
the real kernels do and return a new contiguous tensor shaped like x, as the real kernels do."""
from __future__ import annotations

import torch

from . import registry

_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def _check_input(op: str, name: str, x: torch.Tensor) -> None:
    if x.dtype not in _DTYPES:
        raise TypeError(f"{op}: {name} must be a float32, float64, float16 or bfloat16 tensor, got {x.dtype}")


def _check_grad_output(op: str, grad_output: torch.Tensor, x: torch.Tensor) -> None:
    _check_input(op, "x", x)
    if grad_output.shape != x.shape:
        raise ValueError(f"{op}: grad_output must have the same shape as x, got "
                         f"{list(grad_output.shape)} and {list(x.shape)}")
    if grad_output.dtype != x.dtype:
        raise TypeError(f"{op}: grad_output must have the same dtype as x, got {grad_output.dtype} and {x.dtype}")
    if grad_output.device != x.device:
        raise RuntimeError(f"{op}: grad_output must be on the same device as x, got "
                           f"{grad_output.device} and {x.device}")


def _register(entry: registry.Surrogate) -> None:
    def unary(suffix):
        qualname = f"surrogate_ext::{entry.op}{suffix}"

        def fake(x, *params):
            entry.check(*params)
            _check_input(qualname, "x", x)
            return x.new_empty(x.shape)

        torch.library.register_fake(qualname)(fake)

    def binary(suffix):
        qualname = f"surrogate_ext::{entry.op}{suffix}"

        def fake(grad_output, x, *params):
            entry.check(*params)
            _check_grad_output(qualname, grad_output, x)
            return x.new_empty(x.shape)

        torch.library.register_fake(qualname)(fake)

    unary("")
    unary("_primitive")
    binary("_backward")
    binary("_primitive_backward")


@torch.library.register_fake("surrogate_ext::heaviside")
def _heaviside_fake(x):
    _check_input("surrogate_ext::heaviside", "x", x)
    return x.new_empty(x.shape)


for _entry in registry.SURROGATES:
    _register(_entry)
del _entry
