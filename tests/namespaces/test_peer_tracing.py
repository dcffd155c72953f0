"""The snnTorch and Norse drop-ins under TorchScript, torch.compile, torch.export and opcheck."""
import io

import pytest
import torch

from conftest import same
from surrogate_ext.norse.functional import threshold as norse
from surrogate_ext.snntorch import surrogate as snntorch

SNNTORCH = [row.name for row in snntorch.SURROGATES]
NORSE = [(row.name, (0.7,) * len(row.params)) for row in norse.FUNCTIONS]


def _roundtrip(scripted):
    buffer = io.BytesIO()
    torch.jit.save(scripted, buffer)
    buffer.seek(0)
    return torch.jit.load(buffer)


def _spikes_and_grad(fn, x, seed=0):
    x = x.clone().requires_grad_(True)
    torch.manual_seed(seed)  # the stochastic forwards draw in the forward, SSO in the backward
    y = fn(x)
    return y, torch.autograd.grad(y.sum(), x)[0]


def _snntorch_modules():
    return [getattr(snntorch, name)() for name in SNNTORCH] + [snntorch.SSO()]


def test_snntorch_modules_script_and_reload():
    x = torch.randn(64, dtype=torch.float64)
    x[:2] = 0.0
    for module in _snntorch_modules():
        scripted = _roundtrip(torch.jit.script(module))
        eager, script = _spikes_and_grad(module, x), _spikes_and_grad(scripted, x)
        assert same(eager[0], script[0]) and same(eager[1], script[1])


def test_norse_functions_script():
    x = torch.randn(64, dtype=torch.float64)
    x[:2] = 0.0
    for name, params in NORSE:
        fn = getattr(norse, name)
        scripted = torch.jit.script(fn)
        eager, script = (_spikes_and_grad(lambda t: f(t, *params), x) for f in (fn, scripted))
        assert same(eager[0], script[0]) and same(eager[1], script[1]), name
    for f in (norse.threshold, norse.sign):
        scripted = torch.jit.script(f)
        for method in norse.METHODS:
            if method == "heaviside":
                assert same(scripted(x, method, 0.7), f(x, method, 0.7))
                continue
            eager, script = (_spikes_and_grad(lambda t: g(t, method, 0.7), x) for g in (f, scripted))
            assert same(eager[0], script[0]) and same(eager[1], script[1])
    with pytest.raises(torch.jit.Error, match="heavi_tanh_fn: k must be finite and > 0"):
        torch.jit.script(norse.threshold)(x, "tanh", -1.0)


class _Everything(torch.nn.Module):
    """Every snnTorch module and every deterministic Norse function, stacked."""

    def __init__(self):
        super().__init__()
        self.surrogates = torch.nn.ModuleList([getattr(snntorch, n)() for n in SNNTORCH])

    def forward(self, x):
        ys = [s(x) for s in self.surrogates]
        ys += [norse.super_fn(x, 100.0), norse.heavi_erfc_fn(x, 0.7), norse.heavi_tanh_fn(x, 0.7),
               norse.heavi_circ_fn(x, 0.7), norse.triangle_fn(x, 0.7), norse.threshold(x, "super", 3.0)]
        return torch.stack(ys)


class _Stochastic(torch.nn.Module):
    def forward(self, x):
        return torch.stack([snntorch.SSO()(x), norse.logistic_fn(x, 0.7), norse.circ_dist_fn(x, 0.7)])


def test_compile_fullgraph_aot_eager():
    torch._dynamo.reset()
    model = _Everything()

    def f(x):
        return model(x), _Stochastic()(x)

    compiled = torch.compile(f, fullgraph=True, backend="aot_eager")
    x = torch.randn(16, requires_grad=True)
    (y, stochastic), (y_eager, _) = compiled(x), f(x)
    assert torch.equal(y, y_eager) and set(stochastic.unique().tolist()) <= {0.0, 1.0}
    (g,) = torch.autograd.grad(y.sum(), x)
    (g_eager,) = torch.autograd.grad(y_eager.sum(), x)
    torch.testing.assert_close(g, g_eager)


def test_export():
    model = torch.nn.Sequential(_Everything())
    x = torch.randn(3, 8)
    batch = torch.export.Dim("batch")
    exported = torch.export.export(model, (x,), dynamic_shapes={"input": {0: batch}})
    targets = {str(n.target) for n in exported.graph.nodes if n.op == "call_function"}
    ops = {row.op for row in snntorch.SURROGATES + norse.FUNCTIONS if not row.stochastic}
    assert {f"surrogate_ext.{op}.default" for op in ops} <= targets
    x5 = torch.randn(5, 8)
    assert torch.equal(exported.module()(x5), model(x5))
    stochastic = torch.export.export(_Stochastic(), (x,))
    targets = {str(n.target) for n in stochastic.graph.nodes if n.op == "call_function"}
    assert {"surrogate_ext.stochastic_spike_operator.default", "surrogate_ext.sigmoid.default",
            "surrogate_ext.heavi_circ.default"} <= targets


@pytest.mark.parametrize("row", snntorch.SURROGATES + norse.FUNCTIONS,
                         ids=lambda r: r.name)
def test_opcheck_with_the_peers_arguments(row):
    params = tuple(p.default if p.default is not norse.REQUIRED else 0.7 for p in row.params)
    op_params, grad_scale = row.bind(*params)
    kwargs = dict(strict=row.strict, stochastic=row.stochastic, grad_scale=grad_scale)
    for requires_grad in (False, True):
        x = torch.randn(4, 6, dtype=torch.float64).t().requires_grad_(requires_grad)
        torch.library.opcheck(getattr(torch.ops.surrogate_ext, row.op), (x,) + op_params, kwargs)


def test_opcheck_stochastic_spike_operator():
    x = torch.randn(4, 6, dtype=torch.float64).t()
    torch.library.opcheck(torch.ops.surrogate_ext.stochastic_spike_operator, (x, 0.1, 0.3))
