"""The neuron engine, every family of the table (surrogate_ext.core.neurons, csrc neurons.h): the
C++ and Python tables agree; the fused operators equal the float64 reference step bit for bit in
the forward (float32 and float64) and match its autograd in the backward; the step operators are
one step of the multi-step ones; every surrogate fires a neuron; per-neuron parameters; the half
types; opcheck."""
import math

import pytest
import torch

from surrogate_ext import reference, registry
from surrogate_ext.core import neuron_reference, neurons
from surrogate_ext.core.neurons import BY_NAME

from workloads import assert_same_bits

NEURONS = neurons.NEURONS

# Argument variants per family that reach each branch of its functor once: hard/soft reset,
# detach_reset, the charge forms, per-neuron tensor arguments (marked "per-neuron": the tensor
# argument's example value plus 0.5 plus a spread over the neurons; ("per-neuron", c): c plus the
# spread, which takes snnTorch's beta and alpha across the ends of their clamp to [0, 1];
# ("per-feature", c): the same over the last dimension only, broadcast over the batch;
# ("values", (a, b, ...)): per neuron, those values in turn: the clamp's ends exactly, where
# torch.clamp's gradient depends on the torch version).
CASES = {
    "if": [(1.0, 0.0, False), (0.75, None, True)],
    "lif": [(2.0, True, False, 1.0, 0.0, False), (3.0, True, False, 1.0, -0.25, False),
            (1.5, False, False, 1.0, None, False), (1.5, False, True, 1.0, 0.0, False),
            (2.0, False, True, 0.75, 0.5, True)],
    "plif": [(0.3, True, False, 1.0, 0.0, False), (-0.5, False, True, 1.0, 0.0, False),
             ("per-neuron", False, False, 1.0, None, True)],
    "qif": [(2.0, 0.8, 1.0, 0.0, 1.0, -0.1, False), (3.0, 0.5, 0.5, -0.2, 0.8, None, True)],
    "eif": [(2.0, 1.0, 0.8, 0.0, 1.0, -0.1, False), (3.0, 0.5, 0.6, -0.1, 0.9, None, True)],
    "izhikevich": [(2.0, 0.8, 1.0, -0.1, 2.0, 0.1, 0.2, 1.0, 0.0, False),
                   (3.0, 0.6, 0.5, 0.0, 4.0, -0.2, 0.3, 0.8, None, True)],
    "cuba_lif": [(0.5, 0.75, 0.5, 0.0, False), (0.9, 0.6, 0.7, None, True)],
    "klif": [(1.3, 2.0, True, False, 1.0, 0.0, False), (0.8, 2.0, False, True, 1.0, None, False),
             ("per-neuron", 3.0, True, True, 0.9, -0.2, True)],
    "ilif": [(4 / 3, True, 1.0, False), (2.0, False, 0.75, True)],
    "raf": [(-0.2, 1.0, 1.0, 0.5, 0.0, False), (-0.1, 0.6, 0.5, 0.4, None, True)],
    # snnTorch: reset_mechanism 0 subtract, 1 zero, 2 none; reset_delay True, then False
    "leaky": [(0.9, 1.0, 0, True), (0.8, 0.9, 1, True), (0.95, 1.0, 2, True), (0.9, 1.0, 0, False),
              (0.7, 0.8, 1, False), (("per-neuron", 0.85), ("per-neuron", 1.0), 0, True),
              (("per-neuron", 0.1), 0.9, 1, False), (("per-feature", 0.85), 1.0, 0, True),
              # a threshold below some initial states: the first step's reset r is 1, which
              # reset_delay=False's immediate reset (z - r) then meets with z = 0 and z = 1
              (0.8, 0.25, 1, False), (0.8, 0.25, 0, False),
              (("values", (0.0, 0.6, 1.0, 1.1, -0.1)), 0.9, 0, True)],
    "rleaky": [(0.3, 0.9, 1.0, 0, True), (-0.2, 0.8, 0.9, 1, True), (0.1, 0.95, 1.0, 2, True),
               (0.3, 0.9, 1.0, 0, False), (("per-neuron", 0.0), 0.7, 0.8, 1, False),
               (0.2, ("per-neuron", 0.85), ("per-neuron", 1.0), 0, True)],
    "synaptic": [(0.9, 0.8, 1.0, 0, True), (0.85, 0.7, 0.9, 1, True), (0.9, 0.8, 1.0, 2, True),
                 (0.9, 0.8, 1.0, 0, False), (0.6, 0.75, 0.8, 1, False),
                 (("per-neuron", 0.85), ("per-neuron", 0.1), ("per-neuron", 1.0), 0, True),
                 (0.8, 0.7, 0.25, 1, False),
                 (("values", (1.0, 0.0, 0.7)), ("values", (0.9, 1.0, 0.0, 0.5)), 1.0, 0, True)],
    "rsynaptic": [(0.3, 0.9, 0.8, 1.0, 0, True), (-0.2, 0.85, 0.7, 0.9, 1, True),
                  (0.1, 0.9, 0.8, 1.0, 2, True), (0.3, 0.9, 0.8, 1.0, 0, False),
                  (("per-neuron", 0.0), ("per-neuron", 0.85), ("per-neuron", 0.1), 0.8, 1, False)],
    "alpha": [(0.9, 0.8, 1.0, 1), (0.9, 0.8, 1.0, 0), (0.85, 0.6, 0.9, 2),
              (("per-neuron", 0.9), ("per-neuron", 0.5), ("per-neuron", 1.0), 0)],
    "lapicque": [(1.0, 2.0, 1.0, 1.0, 0), (2.0, 1.5, 0.5, 0.8, 1), (1.0, 1.0, 0.5, 1.0, 2),
                 (("per-neuron", 1.0), ("per-neuron", 2.0), ("per-neuron", 1.0), ("per-neuron", 0.8), 0)],
    # Norse: tau_syn_inv, tau_mem_inv, v_leak[, v_th, v_reset], dt (non-default potentials)
    "norse_lif": [(200.0, 100.0, 0.0, 1.0, 0.0, 0.001), (250.0, 150.0, -0.1, 0.6, 0.2, 0.004),
                  (("per-neuron", 150.0), ("per-neuron", 120.0), ("per-neuron", 0.1),
                   ("per-neuron", 0.5), ("per-neuron", -0.1), 0.003)],
    "norse_lif_box": [(100.0, 0.0, 1.0, 0.0, False, 0.001), (150.0, -0.1, 0.4, 0.2, False, 0.004),
                      (120.0, 0.2, 0.5, 0.0, True, 0.005),
                      (("per-neuron", 120.0), ("per-feature", 0.1), ("per-neuron", 0.45),
                       ("per-neuron", -0.1), True, 0.004)],
    "norse_li": [(200.0, 100.0, 0.0, 0.001), (("per-neuron", 150.0), ("per-neuron", 120.0),
                                              ("per-neuron", -0.2), 0.004)],
}
SHAPE = (5, 3, 8)  # [T, batch, features]; 24 neurons: SIMD vectors and a scalar tail on the CPU
# EIF's charge calls exp. The kernels call torch's vector exp (Sleef's, 1 ulp), which torch.exp uses
# for most of a tensor; but ATen computes a tensor's last n % (2 x vector width) elements with the
# scalar std::exp, which may differ by an ulp there. So EIF's states may differ by an ulp or two
# where the reference's tail fell (3 of 24 elements in the float32 case): its spikes still agree.
ULPS = {"eif": 4}


def case_params():
    for n in NEURONS:
        for i, args in enumerate(CASES[n.name]):
            yield pytest.param(n, args, id=f"{n.name}-{i}")


def test_every_family_has_cases():
    assert set(CASES) == set(BY_NAME)


def build_args(neuron, args, dtype, neurons_shape):
    """The case's values; tensor arguments as tensors of dtype (per-neuron: one per neuron)."""
    out = []
    for a, v, example in zip(neuron.args, args, neuron.example):
        if a.type == "Tensor":
            if isinstance(v, tuple) and v[0] == "values":
                n = math.prod(neurons_shape[1:])
                v = torch.tensor([v[1][i % len(v[1])] for i in range(n)], dtype=dtype)
                v = v.reshape(neurons_shape[1:])
            elif v == "per-neuron" or isinstance(v, tuple):
                center = v[1] if isinstance(v, tuple) else example + 0.5
                shape = neurons_shape[-1:] if v[0] == "per-feature" else neurons_shape[1:]
                spread = torch.linspace(-0.3, 0.3, math.prod(shape), dtype=torch.float64)
                v = (center + spread).reshape(shape).to(dtype)
            else:
                v = torch.tensor(v, dtype=dtype)
        out.append(v)
    return tuple(out)


def inputs(neuron, dtype, shape=SHAPE, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = (torch.randn(shape, generator=gen, dtype=torch.float64) * 1.5 + 0.5).to(dtype)
    states = tuple((torch.rand(shape[1:], generator=gen, dtype=torch.float64) * 0.5).to(dtype)
                   for _ in neuron.states)
    return x, states


def surrogate_of(neuron):
    name, params = neuron.example_surrogate
    params = tuple(int(p) if q.type is int else p for p, q in zip(params, registry.BY_OP[name].params))
    return name, params


def run(neuron, args, x, states, path, surrogate=None, multistep=True):
    """Outputs and gradients of a weighted sum of every output, with respect to x, the initial
    states and the tensor arguments. path: 'native' (the fused operators), 'reference' (the
    reference step with our native surrogate module's spike, as the classes' reference path runs
    it), or 'oracle' (the reference step with the pure-PyTorch surrogate of core/reference.py)."""
    name, params = surrogate or surrogate_of(neuron)
    x = x.detach().clone().requires_grad_(True)
    states = tuple(s.detach().clone().requires_grad_(True) for s in states)
    args = tuple(a.detach().clone().requires_grad_(True) if isinstance(a, torch.Tensor) else a
                 for a in args)
    if path == "native":
        op = neuron.op("multistep" if multistep else "step")
        out = op(x, *states, *args, name, [float(p) for p in params])
        outputs = list(out)
    else:
        fire = (lambda u: getattr(torch.ops.surrogate_ext, name)(u, *params)) if path == "reference" \
            else (lambda u: reference.spiking(name, u, *params))
        if multistep:
            spike, seqs, lasts = neuron_reference.multistep(neuron.reference, x, states, args, fire)
            outputs = [spike] + [t for pair in zip(seqs, lasts) for t in pair]
        else:
            spike, nexts = neuron.reference(x, states, *args, fire=fire)
            outputs = [spike, *nexts]
    gen = torch.Generator().manual_seed(1)
    loss = sum((o * torch.randn(o.shape, generator=gen, dtype=torch.float64).to(o.dtype)).sum()
               for o in outputs)
    leaves = [x, *states] + [a for a in args if isinstance(a, torch.Tensor)]
    grads = torch.autograd.grad(loss, leaves, allow_unused=True)
    return [o.detach() for o in outputs], grads


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("neuron,args", list(case_params()))
def test_forward_equals_the_reference_bit_for_bit(neuron, args, dtype):
    x, states = inputs(neuron, dtype)
    args = build_args(neuron, args, dtype, SHAPE)
    native, _ = run(neuron, args, x, states, "native")
    ref, _ = run(neuron, args, x, states, "reference")
    if neuron.fires:
        assert native[0].sum() > 0, "no spike: the case tests nothing"
    else:
        assert not native[0].any(), "a family that never fires spiked"
    for i, (a, b) in enumerate(zip(native, ref)):
        if i > 0 and neuron.name in ULPS:
            ulp = torch.finfo(dtype).eps * b.abs().clamp_min(1)
            assert bool(((a - b).abs() <= ULPS[neuron.name] * ulp).all()), f"{neuron.name} output {i}"
        else:
            assert_same_bits(a, b, f"{neuron.name} output {i}")


@pytest.mark.parametrize("neuron,args", list(case_params()))
def test_backward_matches_the_float64_oracle(neuron, args):
    x, states = inputs(neuron, torch.float64)
    args = build_args(neuron, args, torch.float64, SHAPE)
    _, native = run(neuron, args, x, states, "native")
    _, oracle = run(neuron, args, x, states, "oracle")
    for i, (a, b) in enumerate(zip(native, oracle)):
        b = torch.zeros_like(a) if b is None else b
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10, msg=f"{neuron.name} gradient {i}")


@pytest.mark.parametrize("neuron,args", list(case_params()))
def test_step_is_one_step_of_multistep(neuron, args):
    x, states = inputs(neuron, torch.float64, shape=(1,) + SHAPE[1:])
    args = build_args(neuron, args, torch.float64, SHAPE)
    step_out, step_grads = run(neuron, args, x[0], states, "native", multistep=False)
    multi_out, multi_grads = run(neuron, args, x, states, "native")
    # multistep: spike_seq, then (seq, last) per state; step: spike, then the next states
    assert_same_bits(step_out[0], multi_out[0][0], "spike")
    for k in range(len(neuron.states)):
        assert_same_bits(step_out[1 + k], multi_out[1 + 2 * k][0], f"state {k}")
    oracle_out, oracle_grads = run(neuron, args, x[0], states, "oracle", multistep=False)
    for i, (a, b) in enumerate(zip(step_grads, oracle_grads)):
        b = torch.zeros_like(a) if b is None else b  # (Alpha's mem reaches the next step only detached)
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10, msg=f"step gradient {i}")


@pytest.mark.parametrize("entry", registry.SURROGATES, ids=lambda e: e.op)
def test_every_surrogate_fires_a_neuron(entry):
    """The engine takes any row by name: LIF (a threshold row fires on h - v_threshold) and I-LIF
    (a row with its own spike count fires it on h / v_threshold) against the float64 oracle."""
    neuron = BY_NAME["ilif" if not entry.threshold else "lif"]
    args = CASES[neuron.name][0]
    x, states = inputs(neuron, torch.float64)
    args = build_args(neuron, args, torch.float64, SHAPE)
    surrogate = (entry.op, entry.example_params)
    native_out, native = run(neuron, args, x, states, "native", surrogate)
    oracle_out, oracle = run(neuron, args, x, states, "oracle", surrogate)
    for i, (a, b) in enumerate(zip(native_out, oracle_out)):
        assert_same_bits(a, b, f"output {i}")
    for i, (a, b) in enumerate(zip(native, oracle)):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10, msg=f"gradient {i}")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("neuron", NEURONS, ids=lambda n: n.name)
def test_half_types_compute_in_float(neuron, dtype):
    """One step from half inputs: h and the states are the float32 computation on the same
    (exactly converted) values, rounded once to the half type; where u is not within a rounding of
    the threshold the spike is float32's."""
    x, states = inputs(neuron, dtype, shape=(1,) + SHAPE[1:])
    args = build_args(neuron, CASES[neuron.name][0], dtype, SHAPE)
    half, half_grads = run(neuron, args, x, states, "native")
    args32 = tuple(a.float() if isinstance(a, torch.Tensor) else a for a in args)
    single, single_grads = run(neuron, args32, x.float(), tuple(s.float() for s in states), "native")
    eps = torch.finfo(dtype).eps
    agree = half[0][0].float() == single[0][0]  # a spike that rounding flipped resets otherwise
    assert agree.float().mean() > 0.9
    for i, (a, b) in enumerate(zip(half[1:], single[1:])):
        assert a.dtype == dtype
        torch.testing.assert_close(a.float()[..., agree], b[..., agree], rtol=4 * eps, atol=4 * eps,
                                   msg=f"state output {i}")
    for a, b in zip(half_grads, single_grads):
        assert a.dtype == dtype and bool(a.float().isfinite().all())


@pytest.mark.parametrize("neuron", NEURONS, ids=lambda n: n.name)
def test_empty_sequences_and_no_neurons(neuron):
    args = neuron.example_args()
    name, params = neuron.example_surrogate
    op = neuron.op("multistep")
    for shape in ((0, 3, 4), (4, 0, 4)):
        x = torch.randn(shape)
        states = [torch.rand(shape[1:]) for _ in neuron.states]
        out = op(x, *states, *args, name, list(params))
        assert out[0].shape == shape
        for k, s in enumerate(states):
            assert out[1 + 2 * k].shape == shape
            assert torch.equal(out[2 + 2 * k], s)  # T = 0: the last state is the initial one


@pytest.mark.parametrize("kind", ["multistep", "step"])
@pytest.mark.parametrize("neuron", NEURONS, ids=lambda n: n.name)
def test_opcheck(neuron, kind):
    x, states = inputs(neuron, torch.float64, shape=(3, 2, 5))
    if kind == "step":
        x = x[0]
    args = tuple(a.requires_grad_(True) if isinstance(a, torch.Tensor) else a
                 for a in neuron.example_args(torch.float64))
    name, params = neuron.example_surrogate
    sample = (x.requires_grad_(True), *(s.requires_grad_(True) for s in states), *args, name, list(params))
    torch.library.opcheck(neuron.op(kind), sample)


@pytest.mark.parametrize("neuron", NEURONS, ids=lambda n: n.name)
def test_python_and_cpp_tables_agree(neuron):
    """Each row's four schemas: the states, the row's arguments with their types, the surrogate
    and its keywords, the outputs named as the autograd kernel pairs them."""
    def schema(kind):
        return torch._C._get_schema(f"surrogate_ext::{neuron.name}_{kind}", "")

    states = list(neuron.states)
    family = [(a.name, a.type) for a in neuron.args]
    tail = [("surrogate", "str"), ("surrogate_params", "float[]"), ("strict", "bool"), ("grad_scale", "float")]
    backward_tail = tail + [("output_mask", "bool[]?")]

    def arguments(s):
        return [(a.name, str(a.type).replace("Optional[Tensor]", "Tensor?").replace("Optional[float]", "float?")
                 .replace("Optional[List[bool]]", "bool[]?").replace("List[float]", "float[]"))
                for a in s.arguments]

    tensor = lambda names: [(n, "Tensor") for n in names]  # noqa: E731
    optional = lambda names: [(n, "Tensor?") for n in names]  # noqa: E731
    assert arguments(schema("multistep")) == (tensor(["x_seq"] + [s + "_init" for s in states]) + family + tail)
    assert [r.name for r in schema("multistep").returns] == ["spike_seq"] + [n for s in states for n in (s + "_seq", s)]
    assert arguments(schema("multistep_backward")) == (
        tensor(["grad_spike_seq"]) + optional([n for s in states for n in ("grad_" + s + "_seq", "grad_" + s)])
        + tensor(["x_seq"] + [s + "_init" for s in states] + [s + "_seq" for s in states]) + family + backward_tail)
    grads = ["grad_" + a for a in neuron.tensor_args]
    assert [r.name for r in schema("multistep_backward").returns] == (
        ["grad_x_seq"] + ["grad_" + s + "_init" for s in states] + grads)
    assert arguments(schema("step")) == tensor(["x"] + states) + family + tail
    assert [r.name for r in schema("step").returns] == ["spike"] + [s + "_next" for s in states]
    assert arguments(schema("step_backward")) == (
        tensor(["grad_spike"]) + optional(["grad_" + s + "_next" for s in states]) + tensor(["x"] + states)
        + family + backward_tail)
    assert [r.name for r in schema("step_backward").returns] == ["grad_x"] + ["grad_" + s for s in states] + grads


@pytest.mark.parametrize("neuron", NEURONS, ids=lambda n: n.name)
def test_argument_checks_match_the_python_table(neuron):
    """The operator's messages for each constrained argument are the table's (Arg.check)."""
    x, states = inputs(neuron, torch.float32)
    args = list(neuron.example_args())
    name, params = neuron.example_surrogate
    for i, a in enumerate(neuron.args):
        if a.constraint is None:
            continue
        for bad in (3, -1) if a.type == "int" else (math.nan, -math.inf, 0.0):
            if a.constraint[0](bad):
                continue
            with pytest.raises(ValueError) as python_error:
                a.check(f"surrogate_ext::{neuron.name}", bad)
            with pytest.raises(ValueError) as op_error:
                neuron.op("multistep")(x, *states, *args[:i], bad, *args[i + 1:], name, list(params))
            expected = str(python_error.value).split(": ", 1)[1].split(", got")[0]
            assert expected in str(op_error.value), (str(op_error.value), expected)


@pytest.mark.parametrize("steps", [3, 0])
@pytest.mark.parametrize("neuron", NEURONS, ids=lambda n: n.name)
def test_last_state_outputs_and_their_gradients(neuron, steps):
    """Each state's last-state output is its sequence's last row (the initial state when T = 0)
    in a tensor of its own; its gradient enters the backward as the carry of the last step, the
    same as that gradient on the sequence's last row."""
    x, states = inputs(neuron, torch.float64, shape=(steps, 2, 5))
    args = neuron.example_args(torch.float64)
    name, params = neuron.example_surrogate
    params = [float(p) for p in params]
    out = neuron.op("multistep")(x, *states, *args, name, params)
    g_spike = torch.randn_like(x)
    for k, s in enumerate(states):
        seq, last = out[1 + 2 * k], out[2 + 2 * k]
        assert torch.equal(last, seq[-1] if steps else s)
        assert last.data_ptr() not in (seq.data_ptr(), s.data_ptr())
    none = [None] * (2 * len(states))
    g_last = torch.randn_like(states[0])
    by_last, by_seq = list(none), list(none)
    by_last[1] = g_last
    g_seq = torch.zeros_like(x)
    if steps:
        g_seq[-1] = g_last
    by_seq[0] = g_seq
    seqs = [out[1 + 2 * k] for k in range(len(states))]
    backward = neuron.op("multistep_backward")
    a = backward(g_spike, *by_last, x, *states, *seqs, *args, name, params)
    if not steps:  # the last state is the initial one: its gradient passes through
        assert torch.equal(a[1], g_last) and not a[0].numel()
        return
    b = backward(g_spike, *by_seq, x, *states, *seqs, *args, name, params)
    for u, w in zip(a, b):
        assert torch.equal(u, w)


@pytest.mark.parametrize("neuron", NEURONS, ids=lambda n: n.name)
def test_bad_operator_arguments(neuron):
    """Errors that name the argument, from the multi-step and the step operators and their
    backwards (their fake kernels raise the same: test_fake_kernels_raise_the_same)."""
    for op, call in bad_calls(neuron):
        error, match, fn = call
        with pytest.raises(error, match=match):
            fn(op)


def bad_calls(neuron):
    """(operator, (exception, message, call)) for every bad argument of the family's operators."""
    x, states = inputs(neuron, torch.float32, shape=(3, 2, 4))
    args = neuron.example_args()
    name, params = neuron.example_surrogate
    params = [float(p) for p in params]
    first = neuron.states[0]
    multistep, step = neuron.op("multistep"), neuron.op("step")
    cases = [
        (multistep, (ValueError, "x_seq must have shape", lambda op: op(x[0, 0, 0], *[s[0, 0] for s in states], *args, name, params))),
        (multistep, (ValueError, f"{first}_init must have shape", lambda op: op(x, states[0][:1], *states[1:], *args, name, params))),
        (multistep, (TypeError, f"{first}_init must have dtype", lambda op: op(x, states[0].double(), *states[1:], *args, name, params))),
        (multistep, (TypeError, "x_seq must be a float32", lambda op: op(x.long(), *states, *args, name, params))),
        (multistep, (ValueError, "surrogate must be one of", lambda op: op(x, *states, *args, "arctan", params))),
        (multistep, (ValueError, "surrogate_params", lambda op: op(x, *states, *args, name, params + [1.0]))),
        (step, (ValueError, f"{first} must have shape", lambda op: op(x[0], states[0][:1], *states[1:], *args, name, params))),
        (step, (ValueError, "grad_scale must be finite", lambda op: op(x[0], *states, *args, name, params, grad_scale=math.nan))),
    ]
    if len(states) == 2:
        second = neuron.states[1]
        cases.append((multistep, (ValueError, f"{second}_init must have shape",
                                  lambda op: op(x, states[0], states[1][:1], *args, name, params))))
    if name == "multi_level_spike_count":
        cases.append((multistep, (ValueError, "must be an integer",
                                  lambda op: op(x, *states, *args, name, [2.5] + params[1:]))))
        cases.append((multistep, (ValueError, "strict applies to threshold forwards only",
                                  lambda op: op(x, *states, *args, name, params, strict=True))))
    for i, a in enumerate(neuron.args):
        if a.type == "Tensor":
            bad = list(args)
            bad[i] = torch.ones(3)
            cases.append((multistep, (ValueError, f"{a.name} must hold one value or be broadcastable",
                                      lambda op, bad=tuple(bad): op(x, *states, *bad, name, params))))
            bad = list(args)
            bad[i] = torch.ones((), dtype=torch.int64)
            cases.append((multistep, (TypeError, f"{a.name} must be a float32",
                                      lambda op, bad=tuple(bad): op(x, *states, *bad, name, params))))
    out = multistep(x, *states, *args, name, params)
    seqs = [out[1 + 2 * k] for k in range(len(states))]
    none = [None] * (2 * len(states))
    backward = neuron.op("multistep_backward")
    wrong_grad = list(none)
    wrong_grad[1] = torch.ones(4)
    cases += [
        (backward, (ValueError, "grad_spike_seq must have shape",
                    lambda op: op(x[:2], *none, x, *states, *seqs, *args, name, params))),
        (backward, (ValueError, f"grad_{first} must have shape",
                    lambda op: op(x, *wrong_grad, x, *states, *seqs, *args, name, params))),
        (backward, (ValueError, f"{first}_seq must have shape",
                    lambda op: op(x, *none, x, *states, seqs[0][:1], *seqs[1:], *args, name, params))),
    ]
    return cases


@pytest.mark.parametrize("neuron", NEURONS, ids=lambda n: n.name)
def test_fake_kernels_raise_the_same(neuron):
    """The fake kernels (torch.compile, torch.export) check what the kernels check, with the
    same exception types: each bad call fails under FakeTensorMode too."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    for op, (error, match, fn) in bad_calls(neuron):
        with FakeTensorMode(allow_non_fake_inputs=True):
            with pytest.raises(error, match=match):
                fn(op)


@pytest.mark.parametrize("neuron", NEURONS, ids=lambda n: n.name)
def test_double_backward_is_refused(neuron):
    x, states = inputs(neuron, torch.float64, shape=(3, 2, 4))
    x.requires_grad_(True)
    name, params = neuron.example_surrogate
    out = neuron.op("multistep")(x, *states, *neuron.example_args(torch.float64), name, [float(p) for p in params])
    (gx,) = torch.autograd.grad(out[0].sum() + out[1].sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="double backward is not supported"):
        gx.sum().backward()


@pytest.mark.parametrize("neuron", NEURONS, ids=lambda n: n.name)
def test_opcheck_backward(neuron):
    x, states = inputs(neuron, torch.float64, shape=(4, 2, 3))
    args = neuron.example_args(torch.float64)
    name, params = neuron.example_surrogate
    params = [float(p) for p in params]
    out = neuron.op("multistep")(x, *states, *args, name, params)
    seqs = [out[1 + 2 * k] for k in range(len(states))]
    grads = [g for s in states for g in (torch.randn_like(x), torch.randn_like(s))]
    for given in (grads, [None] * len(grads)):
        torch.library.opcheck(neuron.op("multistep_backward"),
                              (torch.randn_like(x), *given, x, *states, *seqs, *args, name, params))
    step_grads = [torch.randn_like(s) for s in states]
    torch.library.opcheck(neuron.op("step_backward"),
                          (torch.randn_like(x[0]), *step_grads, x[0], *states, *args, name, params))
