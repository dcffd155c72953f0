"""surrogate_ext.norse's neurons (LIFCell, LIF, LIFBoxCell, LIFBox, LICell, LI) against Norse
1.1.0's: the cells in a loop and the sequence modules, float32 and float64, with non-default
v_leak, v_reset, tau_syn_inv and tau_mem_inv, every threshold method. Spikes bit for bit; v, i and
the input gradients within 1e-10 (float64) and 2e-5 (float32). The reference is Norse's module
itself: under native_thresholds() for every method (Norse's neuron on our threshold's numbers), and
Norse's own threshold for the methods whose numbers agree (super at alpha = 1, heaviside, triangle).
A sequence call is one fused operator forward and one backward (the profiler)."""
import pytest
import torch

import surrogate_ext.norse as ours
from peer_parity import profiled_ops
from surrogate_ext.norse import _neurons

norse = pytest.importorskip("norse.torch")

TOLERANCE = {torch.float32: dict(rtol=2e-5, atol=2e-5), torch.float64: dict(rtol=1e-10, atol=1e-10)}
DTYPES = [torch.float32, torch.float64]
SHAPE = (8, 3, 7)  # [T, batch, features]
METHODS = [("super", 1.0), ("heaviside", 100.0), ("triangle", 0.3), ("tanh", 2.0), ("circ", 1.5),
           ("heavi_erfc", 2.0), ("super", 100.0), ("super", 0.0)]
SAME_NUMBERS = {("super", 1.0), ("heaviside", 100.0), ("triangle", 0.3)}  # as Norse 1.1.0 computes
ROWS = {row.cell: row for row in _neurons.CLASSES}
# Norse's module of each of ours (Norse 1.1.0 has no LIFBox: its cell in a loop is the reference)
PEER = {"LIFCell": "LIFCell", "LIF": "LIF", "LIFBoxCell": "LIFBoxCell", "LIFBox": "LIFBoxCell",
        "LICell": "LICell", "LI": "LI"}
SEQUENCES = {row.sequence: row for row in _neurons.CLASSES}


def fields(row, method, alpha, subtract=False):
    """Non-default parameter values for the row's parameter type."""
    values = dict(tau_syn_inv=torch.as_tensor(250.0), tau_mem_inv=torch.as_tensor(150.0),
                  v_leak=torch.as_tensor(-0.1), v_th=torch.as_tensor(0.6), v_reset=torch.as_tensor(0.2),
                  method=method, alpha=torch.as_tensor(alpha))
    if row.family == "norse_lif_box":
        values["v_th"] = torch.as_tensor(0.4)
        values["reset_method"] = (norse.functional.reset.reset_subtract if subtract
                                  else norse.functional.reset.reset_value)
    return {f: values[f] for f in row.parameters._fields}


def norse_parameters(row, **values):
    return getattr(norse, row.parameters.__name__)(**values)


def inputs(dtype, shape=SHAPE, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=gen, dtype=torch.float64) * 3 + 2).to(dtype)


def run(module, x, sequence):
    """(outputs [T, ...], the last state's fields, the input's gradient) of a weighted sum."""
    x = x.detach().clone().requires_grad_(True)
    if sequence:
        out, state = module(x)
    else:
        outs, state = [], None
        for t in range(x.shape[0]):
            o, state = module(x[t], state)
            outs.append(o)
        out = torch.stack(outs)
    gen = torch.Generator().manual_seed(1)
    weights = [torch.randn(t.shape, generator=gen, dtype=torch.float64).to(t.dtype) for t in (out, *state)]
    loss = sum((t * w).sum() for t, w in zip((out, *state), weights))
    (grad,) = torch.autograd.grad(loss, x)
    return out.detach(), tuple(s.detach() for s in state), grad


def cases():
    for name in ["LIFCell", "LIF", "LIFBoxCell", "LIFBox", "LICell", "LI"]:
        row = ROWS.get(name) or SEQUENCES[name]
        methods = METHODS if row.fires else [(None, None)]
        for method, alpha in methods:
            for subtract in ([False, True] if row.family == "norse_lif_box" else [False]):
                yield pytest.param(name, method, alpha, subtract,
                                   id=f"{name}-{method}-{alpha}" + ("-subtract" if subtract else ""))


def assert_parity(name, method, alpha, subtract, dtype, native):
    row = ROWS.get(name) or SEQUENCES[name]
    values = fields(row, method or "super", alpha or 100.0, subtract)
    sequence = name in SEQUENCES
    peer_name = PEER[name]
    peer = getattr(norse, peer_name)(norse_parameters(row, **values))
    own = _neurons.OWN_TYPES[row.parameters.__name__]
    if dtype == torch.float32 and "reset_method" in values:
        values = dict(values, reset_method=getattr(_neurons, values["reset_method"].__name__))
    mine = getattr(ours, name)(norse_parameters(row, **values) if dtype == torch.float64
                               else own(**values))  # Norse's parameter object, and ours
    x = inputs(dtype)
    if native:
        with ours.native_thresholds():
            expected = run(peer, x, peer_name in SEQUENCES)
    else:
        expected = run(peer, x, peer_name in SEQUENCES)
    got = run(mine, x, sequence)
    if row.fires:
        assert 0 < got[0].sum() < got[0].numel(), "no spike, or only spikes: the case tests little"
        assert torch.equal(got[0], expected[0].to(dtype)), "spikes"
    else:
        torch.testing.assert_close(got[0], expected[0], **TOLERANCE[dtype])
    assert len(got[1]) == len(expected[1])
    for f, a, b in zip(row.state._fields, got[1], expected[1]):
        torch.testing.assert_close(a, b.to(dtype), **TOLERANCE[dtype], msg=lambda m: f"state {f}: {m}")
    torch.testing.assert_close(got[2], expected[2], **TOLERANCE[dtype], msg=lambda m: f"input grad: {m}")


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name,method,alpha,subtract", list(cases()))
def test_parity_with_norse_on_our_thresholds(name, method, alpha, subtract, dtype):
    assert_parity(name, method, alpha, subtract, dtype, native=True)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name,method,alpha,subtract",
                         [c for c in cases() if c.values[1] is None or c.values[1:3] in SAME_NUMBERS])
def test_parity_with_norse(name, method, alpha, subtract, dtype):
    assert_parity(name, method, alpha, subtract, dtype, native=False)


@pytest.mark.parametrize("name", ["LIFCell", "LIF"])
def test_norse_superspike_switch(name):
    """super at alpha = 100: the paper's gradient by default; Norse 1.1.0's numbers (alpha
    ignored) within native_thresholds(norse_superspike=True)."""
    row = ROWS.get(name) or SEQUENCES[name]
    values = fields(row, "super", 100.0)
    x = inputs(torch.float64)
    expected = run(getattr(norse, name)(norse_parameters(row, **values)), x, name in SEQUENCES)
    mine = getattr(ours, name)(row.parameters(**values))
    default = run(mine, x, name in SEQUENCES)
    assert not torch.allclose(default[2], expected[2])
    with ours.native_thresholds(norse_superspike=True):
        switched = run(mine, x, name in SEQUENCES)
    assert torch.equal(switched[0], expected[0])
    torch.testing.assert_close(switched[2], expected[2], **TOLERANCE[torch.float64])


def test_parameter_gradients_match_norse():
    """Learnt parameters (nn.Parameter fields, per neuron or one value) get Norse's gradients.
    The initial state is given in float64: Norse's own is float32, so that its first step computes
    v_leak - v in float32 (a 0-d v_leak does not promote a float32 [B, N] v), and v_leak's
    gradient from that step is float32's (docs/norse.md)."""
    x = inputs(torch.float64)
    grads = []
    for lib in (norse, ours):
        p = {f: torch.nn.Parameter(v.double() if f != "v_th" else torch.full((7,), 0.6, dtype=torch.float64))
             for f, v in fields(ROWS["LIFCell"], "super", 1.0).items() if f not in ("method", "alpha")}
        module = lib.LIF(lib.LIFParameters(**p, method="super", alpha=torch.as_tensor(1.0)))
        state = lib.LIFFeedForwardState(v=torch.full(x.shape[1:], -0.1, dtype=torch.float64),
                                        i=torch.zeros(x.shape[1:], dtype=torch.float64))
        out, state = module(x, state)
        (out.sum() + state.v.sum() + state.i.pow(2).sum()).backward()
        grads.append({f: t.grad for f, t in p.items()})
    for f in grads[0]:
        torch.testing.assert_close(grads[1][f], grads[0][f], **TOLERANCE[torch.float64], msg=lambda m: f"{f}: {m}")


def test_inside_norse_sequential_state():
    """Norse's MLP with our LIF in Norse's SequentialState (and ours) equals Norse's LIF's."""
    torch.manual_seed(0)
    layers = [torch.nn.Linear(20, 30), torch.nn.Linear(30, 5)]
    x = inputs(torch.float32, shape=(6, 4, 20)) * 0.5

    def model(lib, sequential):  # super at alpha = 1: Norse 1.1.0's gradient and the paper's agree
        one = torch.as_tensor(1.0)
        return sequential(layers[0], lib.LIF(lib.LIFParameters(alpha=one)), layers[1],
                          lib.LIF(lib.LIFParameters(v_th=torch.as_tensor(0.1), alpha=one)))

    results = []
    for lib, sequential in ((norse, norse.SequentialState), (ours, norse.SequentialState), (ours, ours.SequentialState)):
        x1 = x.clone().requires_grad_(True)
        out, states = model(lib, sequential)(x1)
        out.sum().backward()
        results.append((out.detach(), x1.grad, states[1].v))
    for out, grad, v in results[1:]:
        assert torch.equal(out, results[0][0])
        torch.testing.assert_close(grad, results[0][1], **TOLERANCE[torch.float32])
        torch.testing.assert_close(v, results[0][2], **TOLERANCE[torch.float32])
    assert ours.SequentialState is norse.SequentialState


def test_record_states():
    x = inputs(torch.float64)
    out, states = ours.LIF(record_states=True)(x)
    peer_out, peer_states = norse.LIF(record_states=True)(x)
    assert torch.equal(out, peer_out)
    for a, b in zip(states, peer_states):
        assert a.shape == x.shape
        torch.testing.assert_close(a, b, **TOLERANCE[torch.float64])


@pytest.mark.parametrize("name", [row.sequence for row in _neurons.CLASSES])
def test_a_sequence_call_is_one_fused_operator(name):
    """One fused forward over the T steps and one backward, and no operator per step: the same
    operators for T = 3 and T = 7 (no per-step indexing or [T, ...] zero-fill)."""
    family = SEQUENCES[name].family
    counts = {}
    for steps in (3, 7):
        module = getattr(ours, name)()
        x = inputs(torch.float32, shape=(steps, 3, 5)).requires_grad_(True)
        ops = profiled_ops(lambda: module(x)[0].sum().backward())
        fused = [o for o in ops if o.startswith("surrogate_ext::")]
        assert fused == [f"surrogate_ext::{family}_multistep", f"surrogate_ext::{family}_multistep_backward"], ops
        assert not {"aten::select", "aten::stack", "aten::select_backward"} & set(ops), ops
        counts[steps] = sorted(ops)
    assert counts[3] == counts[7], "an operator per step"


@pytest.mark.parametrize("name", [row.cell for row in _neurons.CLASSES])
def test_a_cell_call_is_one_fused_operator(name):
    family = ROWS[name].family
    x = inputs(torch.float32, shape=(3, 5)).requires_grad_(True)
    ops = profiled_ops(lambda: getattr(ours, name)()(x)[0].sum().backward())
    fused = [o for o in ops if o.startswith("surrogate_ext::")]
    assert fused == [f"surrogate_ext::{family}_step", f"surrogate_ext::{family}_step_backward"], ops


def test_types_and_defaults_are_norses():
    """With Norse installed the types are Norse's; ours (without Norse) have its fields and
    defaults."""
    for row in _neurons.CLASSES:
        for name in (row.parameters.__name__, row.state.__name__):
            assert getattr(ours, name) is getattr(norse, name)
        own, peer = _neurons.OWN_TYPES[row.parameters.__name__], getattr(norse, row.parameters.__name__)
        assert own._fields == peer._fields
        for f in own._fields:
            a, b = getattr(own(), f), getattr(peer(), f)
            if isinstance(b, torch.Tensor):
                assert torch.equal(torch.as_tensor(a), b), f
            else:
                assert a == b or a.__name__ == b.__name__, f
        assert _neurons.OWN_TYPES[row.state.__name__]._fields == getattr(norse, row.state.__name__)._fields


BAD = [
    (lambda: ours.LIFCell()(torch.ones(3, dtype=torch.complex64)), TypeError, "input_tensor must be a real tensor"),
    (lambda: ours.LIF()([1.0, 2.0]), TypeError, "input_tensor must be a tensor"),
    (lambda: ours.LIF()(torch.tensor(1.0)), ValueError, r"input_tensor must have shape \[T, ...\]"),
    (lambda: ours.LIFCell(ours.LIFParameters(method="nope")), ValueError, "no such function exist"),
    (lambda: ours.LIFCell(ours.LIFParameters(method="adjoint")), ValueError, "adjoint"),
    (lambda: ours.LIF(ours.LIFParameters(method="tanh", alpha=float("nan"))), ValueError, "k must be finite"),
    (lambda: ours.LIF(dt=-1.0), ValueError, "dt must be a finite number > 0"),
    (lambda: ours.LIFCell(p=(1.0, 2.0)), TypeError, "p must be a LIFParameters"),
    (lambda: ours.LIFCell(ours.LIFParameters(v_th="high")), TypeError, "p.v_th must be a tensor or a real number"),
    (lambda: ours.LIFBoxCell(ours.LIFBoxParameters(reset_method=lambda z, v, r, t: v)), ValueError,
     "p.reset_method must be Norse's reset_value or reset_subtract"),
    (lambda: ours.LIFCell()(torch.ones(2, 3), ours.LIFFeedForwardState(torch.zeros(4), torch.zeros(2, 3))),
     ValueError, r"state.v must be broadcastable"),
    (lambda: ours.LICell()(torch.ones(2, 3), (1, 2)), TypeError, "state must be a LIState"),
    (lambda: ours.LIF(ours.LIFParameters(v_th=torch.ones(4)))(torch.ones(2, 3, 5)), ValueError,
     "v_th must hold one value or be broadcastable"),
]


@pytest.mark.parametrize("call,error,match", BAD)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_works_with_our_own_types():
    """The types the package has without Norse are accepted (duck typing), as Norse's are."""
    own = _neurons.OWN_TYPES
    out, state = ours.LIF(own["LIFParameters"](tau_mem_inv=torch.as_tensor(200.0)))(
        torch.ones(4, 2, 3), own["LIFFeedForwardState"](torch.zeros(2, 3), torch.zeros(2, 3)))
    assert isinstance(state, ours.LIFFeedForwardState) and out.shape == (4, 2, 3)
    out, state = ours.LI(own["LIParameters"]())(torch.ones(4, 2, 3))
    assert isinstance(state, ours.LIState) and out.dtype == torch.float32
    out, state = ours.LIFBoxCell(own["LIFBoxParameters"](reset_method=_neurons.reset_subtract))(torch.ones(2, 3))
    assert isinstance(state, ours.LIFBoxFeedForwardState)


@pytest.mark.parametrize("name", ["LIFCell", "LIF"])
def test_bool_and_sparse_inputs_as_norse(name):
    """Norse's modules take bool and integer inputs (its float32 states promote them) and sparse
    ones (spikes sparse); an output requires a gradient even when the input does not (Norse's
    initial v requires one)."""
    for x in (torch.tensor([[True, False], [False, True]]), torch.ones(2, 2, dtype=torch.int64),
              torch.eye(2).to_sparse()):
        z, s = getattr(ours, name)()(x)
        peer_z, peer_s = getattr(norse, name)()(x)
        assert z.is_sparse == peer_z.is_sparse and z.dtype == peer_z.dtype
        assert torch.equal(z.to_dense(), peer_z.to_dense())
        assert s.v.dtype == peer_s.v.dtype == torch.float32
        torch.testing.assert_close(s.v, peer_s.v)
    z, s = getattr(ours, name)()(torch.randn(3, 4))
    assert s.v.requires_grad
    s.v.sum().backward()


def test_without_norse():
    """Without Norse the package's own types and SequentialState serve (a subprocess in which
    ``import norse`` fails)."""
    import subprocess
    import sys
    code = """
import sys
sys.modules["norse"] = None
import torch
import surrogate_ext.norse as norse
assert norse.LIFParameters.__module__ == "surrogate_ext.norse._neurons"
model = norse.SequentialState(torch.nn.Linear(3, 4), norse.LIF(), torch.nn.Linear(4, 2), norse.LICell())
out, states = model(torch.ones(5, 2, 3))
assert out.shape == (5, 2, 2) and isinstance(states[1], norse.LIFFeedForwardState)
assert isinstance(states[3], norse.LIState) and states[0] is None
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
