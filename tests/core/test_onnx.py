"""ONNX export for inference: trained spiking models run in onnxruntime with the same outputs.

Needs the test extra's onnx, onnxruntime and onnxscript; skipped where they are missing.
"""
import math

import numpy as np
import pytest
import torch

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")  # torch.onnx.export(dynamo=True) needs it

import surrogate_ext  # noqa: E402
import surrogate_ext.onnx as surrogate_onnx  # noqa: E402
from surrogate_ext import registry  # noqa: E402

from conftest import OTHER_PARAMS, assert_close_to_oracle, edge_values, make_module, op, param_sets  # noqa: E402

EXPORT_BATCH, RUN_BATCH = 4, 9  # export at one batch size, run at another (dynamic batch)
N_IN, N_HIDDEN, N_OUT, T_STEPS = 6, 16, 5, 5
RTOL, ATOL = 1e-5, 1e-6  # float32: onnxruntime's kernels vs torch's
FORWARD_OPS = 1 + 2 * len(registry.SURROGATES)  # heaviside, then <op> and <op>_primitive per row


def surrogate_module(entry, params, spiking):
    return make_module(entry, params, spiking)


class SpikingMLP(torch.nn.Module):
    """Linear -> spiking surrogate -> Linear -> the same surrogate with spiking=False."""

    def __init__(self, entry, params):
        super().__init__()
        self.fc1 = torch.nn.Linear(N_IN, N_HIDDEN)
        self.spike = surrogate_module(entry, params, spiking=True)
        self.fc2 = torch.nn.Linear(N_HIDDEN, N_OUT)
        self.readout = surrogate_module(entry, params, spiking=False)

    def forward(self, x):
        spikes = self.spike(self.fc1(x))
        return spikes, self.readout(self.fc2(spikes))


class LIF(torch.nn.Module):
    """A leaky integrate-and-fire layer over T steps (a Python loop: export unrolls it), hard reset."""

    def __init__(self, entry, params, tau=2.0, v_threshold=1.0):
        super().__init__()
        self.fc = torch.nn.Linear(N_IN, N_HIDDEN)
        self.spike = surrogate_module(entry, params, spiking=True)
        self.tau, self.v_threshold = tau, v_threshold

    def forward(self, x_seq):  # [T, batch, N_IN] -> spikes [T, batch, N_HIDDEN]
        current = self.fc(x_seq)
        v = torch.zeros_like(current[0])
        spikes = []
        for t in range(x_seq.shape[0]):
            v = v + (current[t] - v) / self.tau
            s = self.spike(v - self.v_threshold)
            v = v * (1.0 - s)
            spikes.append(s)
        return torch.stack(spikes)


def train(model, make_input, steps=5, require_change=True):
    """A few SGD steps on random data, through the surrogate gradients: "trained" weights."""
    gen = torch.Generator().manual_seed(1)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    before = [p.detach().clone() for p in model.parameters()]
    for _ in range(steps):
        out = model(make_input(EXPORT_BATCH, gen))
        out = out[-1] if isinstance(out, tuple) else out
        loss = (out - torch.rand(out.shape, generator=gen)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    if require_change:
        assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters())), "did not train"
    return model.eval()


def mlp_input(batch, gen):
    return torch.randn(batch, N_IN, generator=gen) * 2


def seq_input(batch, gen):
    return torch.randn(T_STEPS, batch, N_IN, generator=gen) * 2


def run_onnx(onnx_program, *inputs):
    session = ort.InferenceSession(onnx_program.model_proto.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, {n: x.numpy() for n, x in zip(names, inputs)})


def op_types(model_proto):
    return {node.op_type for node in model_proto.graph.node}


def spike_ops(entry):
    """The ONNX ops of the row's spiking forward."""
    return {"GreaterOrEqual", "Cast"} if entry.threshold else {"Round", "Clip"}


def spike_levels(entry, params):
    """The values the row's spiking forward takes."""
    return {0.0, 1.0} if entry.threshold else {float(k) for k in range(params[0] + 1)}


def assert_standard_onnx(model_proto, expected_ops=frozenset({"GreaterOrEqual", "Cast"})):
    """Only default-domain ONNX ops: the surrogates became GreaterOrEqual + Cast and formulas."""
    onnx.checker.check_model(model_proto)
    domains = {node.domain for node in model_proto.graph.node}
    assert domains <= {"", "ai.onnx"}, domains
    assert not model_proto.functions, [fn.name for fn in model_proto.functions]
    assert {o.domain for o in model_proto.opset_import} <= {"", "ai.onnx"}
    assert set(expected_ops) <= op_types(model_proto), op_types(model_proto)


def assert_same(onnx_out, torch_out, exact, what, levels=frozenset({0.0, 1.0})):
    expected = torch_out.detach().numpy()
    assert onnx_out.shape == expected.shape, (what, onnx_out.shape, expected.shape)
    if exact:
        assert set(np.unique(expected)) <= levels, what
        np.testing.assert_array_equal(onnx_out, expected, err_msg=what)
    else:
        np.testing.assert_allclose(onnx_out, expected, rtol=RTOL, atol=ATOL, err_msg=what)


def batch_dim():
    return torch.export.Dim("batch", min=1, max=1024)


class EveryRow(torch.nn.Module):
    """One model per registry row side by side, so that one export covers every row (an export
    costs seconds; 23 rows' worth of separate exports cost minutes): the outputs are every row's
    outputs in turn, flattened."""

    def __init__(self, models):
        super().__init__()
        self.rows = torch.nn.ModuleList(models)

    def forward(self, x):
        outputs = []
        for model in self.rows:
            out = model(x)
            outputs.extend(out if isinstance(out, tuple) else (out,))
        return tuple(outputs)


_CACHE = {}


def _exported(kind, which):
    """(the trained models, one per row, and the ONNX program of all of them), built once for
    kind 'mlp' or 'lif' and parameter set 'default' or 'other'."""
    key = (kind, which)
    if key not in _CACHE:
        models = []
        for entry in registry.SURROGATES:
            params = entry.example_params if which == "default" else OTHER_PARAMS[entry.op]
            torch.manual_seed(0)
            if kind == "mlp":
                # SparseFastSigmoid's default gradient is zero below B = 1, where the readout's inputs lie
                models.append(train(SpikingMLP(entry, params), mlp_input,
                                    require_change=(entry.op, which) != ("sparse_fast_sigmoid", "default")))
            else:
                models.append(train(LIF(entry, params), seq_input))
        if kind == "mlp":
            x, dynamic = mlp_input(EXPORT_BATCH, torch.Generator().manual_seed(2)), {0: batch_dim()}
        else:
            x, dynamic = seq_input(EXPORT_BATCH, torch.Generator().manual_seed(2)), {1: batch_dim()}
        program = surrogate_onnx.export(EveryRow(models).eval(), (x,), dynamic_shapes=(dynamic,))
        _CACHE[key] = models, program
    return _CACHE[key]


def _every_row_results(kind, which):
    """For each batch size (EXPORT_BATCH, then RUN_BATCH: the batch dimension is dynamic), every
    row's torch outputs and onnxruntime outputs on one input: [(batch, {op: (torch, onnx)})]."""
    key = (kind, which, "results")
    if key not in _CACHE:
        models, program = _exported(kind, which)
        gen = torch.Generator().manual_seed(3)
        per_row = 2 if kind == "mlp" else 1
        runs = []
        for batch in (EXPORT_BATCH, RUN_BATCH):
            x = (mlp_input if kind == "mlp" else seq_input)(batch, gen)
            got = run_onnx(program, x)
            results = {}
            for i, (entry, model) in enumerate(zip(registry.SURROGATES, models)):
                with torch.no_grad():
                    out = model(x)
                results[entry.op] = (out if isinstance(out, tuple) else (out,), got[per_row * i:per_row * (i + 1)])
            runs.append((batch, results))
        _CACHE[key] = runs
    return _CACHE[key]


def exported_mlp(entry, params):
    """The trained MLP of entry (default or OTHER_PARAMS), and the ONNX program of every row's."""
    which = "default" if params == entry.example_params else "other"
    assert params == (entry.example_params if which == "default" else OTHER_PARAMS[entry.op])
    models, program = _exported("mlp", which)
    return models[registry.SURROGATES.index(entry)], program


@pytest.mark.parametrize("entry,params", param_sets())
def test_trained_mlp_matches_onnxruntime(entry, params):
    which = "default" if params == entry.example_params else "other"
    levels = spike_levels(entry, params)
    for batch, results in _every_row_results("mlp", which):
        (spikes, out), (onnx_spikes, onnx_out) = results[entry.op]
        assert_same(onnx_spikes, spikes, True, f"{entry.op} spikes, batch {batch}", levels)
        assert_same(onnx_out, out, False, f"{entry.op} primitive, batch {batch}")
    assert 0 < float(spikes.mean()) < max(levels), "the test input should make some neurons fire, not all"


@pytest.mark.parametrize("which", ["default", "other"])
def test_graph_is_standard_onnx(which):
    _, program = _exported("mlp", which)
    assert_standard_onnx(program.model_proto, set().union(*(spike_ops(e) for e in registry.SURROGATES)))
    graph_input = program.model_proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert graph_input.dim_param and not graph_input.HasField("dim_value"), graph_input


@pytest.mark.parametrize("entry", registry.SURROGATES, ids=lambda e: e.op)
def test_lif_recurrence_matches_onnxruntime(entry):
    levels = spike_levels(entry, entry.example_params)
    for batch, results in _every_row_results("lif", "default"):
        (expected,), (got,) = results[entry.op]
        assert_same(got, expected, True, f"{entry.op} LIF spikes, batch {batch}", levels)
    assert 0 < float(expected.mean()) < max(levels)


class Heaviside(torch.nn.Module):
    def forward(self, x):
        return surrogate_ext.heaviside(x)


def test_heaviside_and_special_values():
    """heaviside exports too; onnxruntime agrees at 0, -0, +-inf and NaN (NaN gives 0)."""
    x = torch.tensor([0.0, -0.0, 1e-30, -1e-30, math.inf, -math.inf, math.nan, 2.5, -2.5])
    program = surrogate_onnx.export(Heaviside(), (x,))
    assert_standard_onnx(program.model_proto)
    (got,) = run_onnx(program, x)
    np.testing.assert_array_equal(got, surrogate_ext.heaviside(x).numpy())


def test_decompositions_cover_every_forward_op_and_match_them():
    """The table is the registry: every forward operator, each within the dtype tolerance of the
    float64 oracle."""
    table = surrogate_onnx.decompositions()
    assert len(table) == FORWARD_OPS
    assert table[op("heaviside").default] is not None
    for entry in registry.SURROGATES:
        for params in (entry.example_params, OTHER_PARAMS[entry.op]):
            x = edge_values(entry, params).float()
            for name in (entry.op, entry.op + "_primitive"):
                decomposed = table[op(name).default](x, *params)
                # the oracle is the float64 reference, as for the native operators (the native
                # periodic primitive reduces huge |x| exactly, which float32 formulas cannot)
                formula = entry.spike if name == entry.op else entry.primitive
                assert_close_to_oracle(decomposed, x, lambda x64: formula(x64, *params),
                                       what=f"{name}{params}")


def test_plain_torch_onnx_export():
    """Plain torch.onnx.export: of a decomposed ExportedProgram, and of the module itself
    inside registered(), which leaves torch's decomposition table as it found it."""
    entry = registry.BY_OP["atan"]
    model, _ = exported_mlp(entry, entry.example_params)
    x = mlp_input(RUN_BATCH, torch.Generator().manual_seed(4))
    with torch.no_grad():
        spikes, out = model(x)

    ep = torch.export.export(model, (x,)).run_decompositions(surrogate_onnx.decompositions())
    assert not any(str(n.target).startswith("surrogate_ext.") for n in ep.graph.nodes)
    via_ep = torch.onnx.export(ep, (x,), verbose=False)

    before = dict(torch._decomp.decomposition_table)
    with surrogate_onnx.registered():
        via_module = torch.onnx.export(model, (x,), dynamo=True, verbose=False)
    assert torch._decomp.decomposition_table == before

    for program in (via_ep, via_module):
        assert_standard_onnx(program.model_proto)
        onnx_spikes, onnx_out = run_onnx(program, x)
        assert_same(onnx_spikes, spikes, True, "spikes")
        assert_same(onnx_out, out, False, "primitive")


def test_export_writes_file(tmp_path):
    entry = registry.BY_OP["sigmoid"]
    model, _ = exported_mlp(entry, entry.example_params)
    x = mlp_input(EXPORT_BATCH, torch.Generator().manual_seed(5))
    path = tmp_path / "model.onnx"
    surrogate_onnx.export(model, (x,), str(path))
    model_proto = onnx.load(str(path))
    assert_standard_onnx(model_proto)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    onnx_spikes, onnx_out = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        spikes, out = model(x)
    assert_same(onnx_spikes, spikes, True, "spikes")
    assert_same(onnx_out, out, False, "primitive")
