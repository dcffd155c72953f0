"""The operators under opcheck, TorchScript, torch.compile and torch.export."""
import io

import pytest
import torch

import surrogate_ext
from surrogate_ext import registry
from conftest import op, make_module

ENTRIES = list(registry.SURROGATES)
IDS = [e.op for e in ENTRIES]


def _opcheck_samples(entry, suffix):
    params = entry.example_params
    for requires_grad in (False, True):
        for layout in ("contiguous", "transposed"):
            x = torch.randn(4, 6, dtype=torch.float64)
            if layout == "transposed":
                x = x.t()
            if suffix.endswith("backward"):
                yield (torch.randn_like(x), x) + params
            else:
                yield (x.requires_grad_(requires_grad),) + params


@pytest.mark.parametrize("suffix", ["", "_primitive", "_backward", "_primitive_backward"])
@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_opcheck(entry, suffix):
    for args in _opcheck_samples(entry, suffix):
        torch.library.opcheck(op(entry.op + suffix), args)


def test_opcheck_heaviside():
    torch.library.opcheck(torch.ops.surrogate_ext.heaviside, (torch.randn(3, 5).t(),))


def _roundtrip(scripted):
    buffer = io.BytesIO()
    torch.jit.save(scripted, buffer)
    buffer.seek(0)
    return torch.jit.load(buffer)


@pytest.mark.parametrize("spiking", [True, False])
@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_script_every_module(entry, spiking):
    module = make_module(entry, spiking=spiking)
    scripted = _roundtrip(torch.jit.script(module))
    x = torch.randn(32, dtype=torch.float64, requires_grad=True)
    (eager_grad,) = torch.autograd.grad(module(x).sum(), x)
    y = scripted(x)
    (scripted_grad,) = torch.autograd.grad(y.sum(), x)
    torch.testing.assert_close(y, module(x))
    torch.testing.assert_close(scripted_grad, eager_grad)


class SmallSpikingNet(torch.nn.Module):
    def __init__(self, surrogates):
        super().__init__()
        layers = []
        for s in surrogates:
            layers += [torch.nn.Linear(8, 8), s]
        self.body = torch.nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


def test_script_small_model_with_all_surrogates():
    torch.manual_seed(0)
    model = SmallSpikingNet([make_module(e) for e in ENTRIES]).double()
    scripted = _roundtrip(torch.jit.script(model))
    x = torch.randn(5, 8, dtype=torch.float64)
    torch.testing.assert_close(scripted(x), model(x))
    out_e = model(x).sum()
    out_s = scripted(x).sum()
    grads_e = torch.autograd.grad(out_e, list(model.parameters()))
    grads_s = torch.autograd.grad(out_s, list(scripted.parameters()))
    for a, b in zip(grads_e, grads_s):
        torch.testing.assert_close(a, b)


def test_script_function_calling_ops_directly():
    @torch.jit.script
    def f(x: torch.Tensor) -> torch.Tensor:
        return torch.ops.surrogate_ext.atan(x, 3.0) + torch.ops.surrogate_ext.s2nn_primitive(x)

    x = torch.randn(10)
    torch.testing.assert_close(f(x), op("atan")(x, 3.0) + op("s2nn_primitive")(x))


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_compile_fullgraph(entry):
    torch._dynamo.reset()
    module = make_module(entry)
    primitive = make_module(entry, spiking=False)

    def f(x):
        return module(x) * 2 + primitive(x)

    compiled = torch.compile(f, fullgraph=True, backend="aot_eager")
    x = torch.randn(16, requires_grad=True)
    y = compiled(x)
    (g,) = torch.autograd.grad(y.sum(), x)
    (g_eager,) = torch.autograd.grad(f(x).sum(), x)
    torch.testing.assert_close(y, f(x))
    torch.testing.assert_close(g, g_eager)


def test_compile_inductor_small_model():
    torch._dynamo.reset()
    model = SmallSpikingNet([surrogate_ext.ATan(), surrogate_ext.Sigmoid(spiking=False)])
    compiled = torch.compile(model, fullgraph=True)
    x = torch.randn(4, 8)
    torch.testing.assert_close(compiled(x), model(x))
    compiled(x).sum().backward()


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_export(entry):
    model = SmallSpikingNet([make_module(entry),
                             make_module(entry, spiking=False)])
    x = torch.randn(3, 8)
    batch = torch.export.Dim("batch")
    exported = torch.export.export(model, (x,), dynamic_shapes={"x": {0: batch}})
    targets = {str(n.target) for n in exported.graph.nodes if n.op == "call_function"}
    assert f"surrogate_ext.{entry.op}.default" in targets
    assert f"surrogate_ext.{entry.op}_primitive.default" in targets
    x5 = torch.randn(5, 8)
    torch.testing.assert_close(exported.module()(x5), model(x5))
