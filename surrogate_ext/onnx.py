"""ONNX export for inference: the forward operators as standard ONNX ops.

The native operators ``torch.ops.surrogate_ext.*`` have no ONNX counterpart, so before the
ONNX translation each forward operator is replaced by its pure-PyTorch formula from
:mod:`surrogate_ext.reference` (an aten decomposition):

* ``<op>(x, *params)`` and ``heaviside(x)`` -> ``(x >= 0).to(x.dtype)``: ONNX GreaterOrEqual + Cast
  (``Greater`` with ``strict=True``; MultiLevelSpikeCount's forward is Round of Clip);
* ``<op>_primitive(x, *params)`` -> ``reference.<op>_primitive(x, *params)``: its formula in
  ONNX ops (Atan, Erf, Where, ...). float16/bfloat16 inputs compute in float32, as the native
  kernels do.

The table is built from :data:`surrogate_ext.registry.SURROGATES`, so a new surrogate exports
once it has a registry row and a reference primitive. Only the forward is exported (inference);
the resulting graph uses the default ONNX domain only and runs on any ONNX runtime.

Three ways to use it (they need ``pip install onnx onnxruntime onnxscript``)::

    import surrogate_ext.onnx

    # 1. The helper: torch.export -> these decompositions -> torch.onnx.export.
    onnx_program = surrogate_ext.onnx.export(model.eval(), (x,), "model.onnx")

    # 2. Plain torch.onnx.export of a decomposed ExportedProgram (public APIs only).
    ep = torch.export.export(model.eval(), (x,))
    ep = ep.run_decompositions(surrogate_ext.onnx.decompositions())
    torch.onnx.export(ep, (x,), "model.onnx")

    # 3. Plain torch.onnx.export of the module, with the decompositions registered meanwhile.
    with surrogate_ext.onnx.registered():
        torch.onnx.export(model.eval(), (x,), "model.onnx", dynamo=True)

Route 3 works because the dynamo ONNX exporter consults ``torch._decomp.decomposition_table``
(a torch internal, verified with torch 2.14.1); the context manager removes the entries again
on exit, so the operators stay intact for ``torch.export`` and ``torch.compile`` elsewhere.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Dict, Iterator

import torch
from torch import Tensor

from .core import reference, registry

_HALF_TYPES = (torch.float16, torch.bfloat16)


def _heaviside_decomposition(x: Tensor, strict: bool = False) -> Tensor:
    """``heaviside``: 1 where x >= 0 (x > 0 when strict), else 0."""
    return reference.heaviside(x, strict)


def _spike_decomposition(entry: registry.Surrogate) -> Callable[..., Tensor]:
    """The spiking forward of a row: heaviside (GreaterOrEqual, or Greater when strict), or the
    row's own (MultiLevelSpikeCount: Round of Clip). A stochastic forward has no ONNX form."""
    formula = entry.spike

    def spike(x: Tensor, *params, strict: bool = False, stochastic: bool = False,
              grad_scale: float = 1.0) -> Tensor:
        if stochastic:
            raise ValueError(f"surrogate_ext.onnx: {entry.op} with stochastic=True draws random "
                             f"spikes; it has no ONNX form (export it with stochastic=False)")
        params = entry.check(*params)
        if not entry.threshold:
            return formula(x, *params)
        return formula(x, *params, strict=strict)

    spike.__name__ = spike.__qualname__ = f"{entry.op}_decomposition"
    return spike


def _primitive_decomposition(entry: registry.Surrogate) -> Callable[..., Tensor]:
    formula = entry.primitive

    def primitive(x: Tensor, *params, **named_params) -> Tensor:
        if x.dtype in _HALF_TYPES:  # the native kernels compute the half types in float
            return formula(x.float(), *params, **named_params).to(x.dtype)
        return formula(x, *params, **named_params)

    primitive.__name__ = primitive.__qualname__ = f"{entry.op}_primitive_decomposition"
    return primitive


def decompositions() -> Dict[torch._ops.OpOverload, Callable[..., Tensor]]:
    """Maps every forward operator to its pure-aten formula, for ``run_decompositions``.

    Keys: ``torch.ops.surrogate_ext.heaviside.default`` and, for each registry row,
    ``<op>.default`` (the spiking forward) and ``<op>_primitive.default``.
    """
    ops = torch.ops.surrogate_ext
    table: Dict[torch._ops.OpOverload, Callable[..., Tensor]] = {
        ops.heaviside.default: _heaviside_decomposition}
    for entry in registry.SURROGATES:
        table[getattr(ops, entry.op).default] = _spike_decomposition(entry)
        table[getattr(ops, entry.op + "_primitive").default] = _primitive_decomposition(entry)
    return table


def decompose(exported_program: torch.export.ExportedProgram) -> torch.export.ExportedProgram:
    """``exported_program.run_decompositions(decompositions())``: no surrogate_ext ops remain."""
    return exported_program.run_decompositions(decompositions())


def export(model, args=(), f=None, *, kwargs=None, dynamic_shapes=None, strict: bool = False,
           **onnx_kwargs):
    """Exports ``model`` (a module or an ExportedProgram) to ONNX, for inference.

    Runs ``torch.export.export(model, args, kwargs=..., dynamic_shapes=..., strict=...)``
    (skipped for an ExportedProgram), :func:`decompose`, then
    ``torch.onnx.export(ep, args, f, kwargs=..., **onnx_kwargs)``, and returns its
    ``ONNXProgram`` (saved to ``f`` when given). ``verbose`` defaults to False here. Put the
    model in eval mode first if it has dropout or batch norm.
    """
    if isinstance(args, Tensor):
        args = (args,)
    if isinstance(model, torch.export.ExportedProgram):
        if dynamic_shapes is not None:
            raise ValueError("dynamic_shapes belongs to torch.export.export; an ExportedProgram "
                             "already has its shapes")
        ep = model
    else:
        ep = torch.export.export(model, tuple(args), kwargs=kwargs, dynamic_shapes=dynamic_shapes,
                                 strict=strict)
    onnx_kwargs.setdefault("verbose", False)
    return torch.onnx.export(decompose(ep), tuple(args), f, kwargs=kwargs, **onnx_kwargs)


@contextlib.contextmanager
def registered() -> Iterator[Dict[torch._ops.OpOverload, Callable[..., Tensor]]]:
    """Within the block, plain ``torch.onnx.export(module, args, dynamo=True)`` translates the
    surrogate operators too: the :func:`decompositions` are added to torch's global
    decomposition table (``torch._decomp.decomposition_table``), which the dynamo ONNX exporter
    consults, and removed (previous entries restored) on exit. Yields the table."""
    import torch._decomp

    global_table = torch._decomp.decomposition_table
    table = decompositions()
    saved = {op: global_table[op] for op in table if op in global_table}
    global_table.update(table)
    try:
        yield table
    finally:
        for op in table:
            if op in saved:
                global_table[op] = saved[op]
            else:
                global_table.pop(op, None)
