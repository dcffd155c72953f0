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
    op(entry.op)(x, *entry.example_params).sum().backward()
    torch.testing.assert_close(x.grad, entry.grad(x.detach(), *entry.example_params))
    assert op(entry.op)(torch.empty(0, 3, device="cuda"), *entry.example_params).shape == (0, 3)
    assert op(entry.op)(torch.tensor(0.5, device="cuda"), *entry.example_params).item() == 1.0


NEURON_CASES = [("if", None, True), ("lif", None, False), ("plif", 0.5, True), ("plif", None, False)]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("neuron,v_reset,decay_input", NEURON_CASES)
@pytest.mark.parametrize("entry", registry.SURROGATES, ids=lambda e: e.op)
def test_cuda_multistep_matches_cpu(entry, neuron, v_reset, decay_input, dtype):
    forward = op(entry.op + "_multistep_node")
    backward = op(entry.op + "_multistep_node_backward")
    gen = torch.Generator().manual_seed(0)
    x = (torch.randn(12, 257, generator=gen) * 1.5 + 0.4).to(dtype)
    v0 = torch.zeros(257, dtype=dtype)
    k = torch.tensor(0.4, dtype=dtype) if neuron == "plif" else None
    config = (neuron, 2.0, decay_input, 1.0, v_reset, False)

    def run(device):
        kk = None if k is None else k.to(device)
        args = config[:2] + (kk,) + config[2:]
        s, v_seq, v = forward(x.to(device), v0.to(device), *args, *entry.example_params)
        g = torch.linspace(-1, 1, x.numel(), dtype=dtype).view_as(x).to(device)
        grads = backward(g, g.flip(0), g[0], x.to(device), v0.to(device), v_seq, *args,
                         *entry.example_params)
        return [t.cpu() for t in (s, v_seq, v) + tuple(grads)]

    cpu, cuda = run("cpu"), run("cuda")
    close = dict(rtol=1e-5, atol=1e-5) if dtype in (torch.float32, torch.float64) else dict(rtol=2e-2, atol=2e-2)
    # a spike may flip where h is within rounding of the threshold; require almost all to agree
    assert (cuda[0] != cpu[0]).float().mean() < 0.01
    if torch.equal(cuda[0], cpu[0]):
        for a, b in zip(cuda[1:], cpu[1:]):
            torch.testing.assert_close(a, b, **close)


@pytest.mark.parametrize("cls", ["MultiStepIFNode", "MultiStepLIFNode", "MultiStepParametricLIFNode"])
def test_check_cuda_grad_on_cuda(cls):
    import surrogate_ext
    errors = surrogate_ext.check_cuda_grad(getattr(surrogate_ext.clock_driven.neuron, cls), surrogate_ext.ATan,
                                           "cuda", alpha=2.0)
    assert errors[torch.float32] < 1e-5 and errors[torch.float16] < 1e-2


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("offset", [0, 1], ids=["aligned", "unaligned"])
@pytest.mark.parametrize("n", [1, 3, 8, 13, 1023, 4099])
def test_cuda_vector_path_and_tail(n, offset, dtype):
    # 16-byte vector loads where aligned, a scalar tail, and the unaligned fallback
    entry = registry.BY_OP["sigmoid"]
    base = torch.randn(n + offset, dtype=torch.float64).to(dtype)
    x, g = base[offset:], torch.randn(n + offset).to(dtype)[offset:]
    cuda_x, cuda_g = base.cuda()[offset:], g.cuda()
    close = dict(rtol=1e-5, atol=1e-6) if dtype in (torch.float32, torch.float64) else dict(rtol=1e-2, atol=1e-3)
    torch.testing.assert_close(op("sigmoid_primitive")(cuda_x).cpu(), op("sigmoid_primitive")(x), **close)
    torch.testing.assert_close(op("sigmoid_backward")(cuda_g, cuda_x).cpu(), op("sigmoid_backward")(g, x), **close)
    # a broadcast grad_output (stride 0) is read as one value
    g1 = torch.tensor(0.75, dtype=dtype)
    torch.testing.assert_close(op("sigmoid_backward")(g1.cuda().expand(n), cuda_x).cpu(),
                               op("sigmoid_backward")(g1.expand(n), x), **close)
    assert entry.op == "sigmoid"
