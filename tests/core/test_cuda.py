"""CUDA kernels against the CPU kernels (skipped when no GPU is present)."""
import pytest
import torch

from surrogate_ext import registry
from surrogate_ext.core import neurons
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


def neuron_cases():
    """Every family with its example surrogate, and LIF with every surrogate row."""
    for n in neurons.NEURONS:
        yield pytest.param(n, None, id=n.name)
    for e in registry.SURROGATES:
        yield pytest.param(neurons.BY_NAME["ilif" if not e.threshold else "lif"], e, id=f"lif-{e.op}")


@pytest.mark.parametrize("kind", ["multistep", "step"])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("neuron,entry", list(neuron_cases()))
def test_cuda_neuron_matches_cpu(neuron, entry, dtype, kind):
    """The fused operators on CUDA against the CPU's: outputs and every gradient (x, the initial
    states, a per-neuron tensor argument)."""
    gen = torch.Generator().manual_seed(0)
    shape = (12, 257) if kind == "multistep" else (257,)
    x = (torch.randn(shape, generator=gen) * 1.5 + 0.4).to(dtype)
    states = [(torch.rand(257, generator=gen) * 0.5).to(dtype) for _ in neuron.states]
    args = [torch.linspace(0.5, 1.5, 257).to(dtype) if isinstance(a, torch.Tensor) else a
            for a in neuron.example_args(dtype)]
    name, params = neuron.example_surrogate if entry is None else (entry.op, entry.example_params)
    params = [float(p) for p in params]

    def run(device):
        leaves = [t.to(device).requires_grad_(True) for t in [x] + states]
        dev_args = [a.to(device).requires_grad_(True) if isinstance(a, torch.Tensor) else a for a in args]
        out = neuron.op(kind)(*leaves, *dev_args, name, params)
        g = torch.linspace(-1, 1, x.numel(), dtype=dtype).view_as(x).to(device)
        torch.autograd.backward(list(out), [g if o.shape == x.shape else g.flip(0).reshape(-1)[:o.numel()].view_as(o)
                                            for o in out])
        tensors = [a for a in dev_args if isinstance(a, torch.Tensor)]
        return [t.detach().cpu() for t in out] + [t.grad.cpu() for t in leaves + tensors]

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
