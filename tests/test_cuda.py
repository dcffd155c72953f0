"""CUDA kernels against the CPU kernels (skipped when no GPU is present)."""
import pytest
import torch

from surrogate_ext import registry
from conftest import DTYPES, edge_values, op, param_sets

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("entry,params", param_sets())
def test_cuda_matches_cpu(entry, params, dtype):
    x = edge_values(entry, params).to(dtype)
    g = torch.randn(x.shape).to(dtype)
    rtol, atol = (1e-5, 1e-6) if dtype in (torch.float32, torch.float64) else (1e-2, 1e-3)
    for suffix in ("", "_primitive"):
        cpu = op(entry.op + suffix)(x, *params)
        torch.testing.assert_close(op(entry.op + suffix)(x.cuda(), *params).cpu(), cpu,
                                   rtol=rtol, atol=atol, equal_nan=True)
    for suffix in ("_backward", "_primitive_backward"):
        cpu = op(entry.op + suffix)(g, x, *params)
        torch.testing.assert_close(op(entry.op + suffix)(g.cuda(), x.cuda(), *params).cpu(), cpu,
                                   rtol=rtol, atol=atol, equal_nan=True)


@pytest.mark.parametrize("entry", registry.SURROGATES, ids=lambda e: e.op)
def test_cuda_layouts_and_autograd(entry):
    x = torch.randn(64, 33, device="cuda", dtype=torch.float64).t().requires_grad_(True)
    op(entry.op)(x, *entry.defaults).sum().backward()
    torch.testing.assert_close(x.grad, entry.grad(x.detach(), *entry.defaults))
    assert op(entry.op)(torch.empty(0, 3, device="cuda"), *entry.defaults).shape == (0, 3)
    assert op(entry.op)(torch.tensor(0.5, device="cuda"), *entry.defaults).item() == 1.0
