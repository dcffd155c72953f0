"""torch.compile support (surrogate_ext.core.inductor): Inductor sees every elementwise operator's
formula and fuses it, forward and backward; torch.export, aot_eager and TorchScript keep the
operators; the fused neurons stay operator calls under Inductor.

Inductor compiles take seconds, so each compiled test batches every registry row into one
function. The decompositions themselves are checked without compiling, on every row, parameter
set, dtype and edge value.
"""
import os
import re
import subprocess
import sys

import pytest
import torch

import surrogate_ext
from surrogate_ext import registry
from surrogate_ext.clock_driven import neuron
from surrogate_ext.core import neurons
from surrogate_ext.core import inductor
from conftest import TOLERANCES, assert_close_to_oracle, edge_values, make_module, param_sets

ENTRIES = list(registry.SURROGATES)
SUFFIXES = ("", "_primitive", "_backward", "_primitive_backward")
OPS = torch.ops.surrogate_ext
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU"))]
HALF_TYPES = (torch.float16, torch.bfloat16)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _params(which):
    """{op: parameters} of conftest's parameter sets: 'default' or 'other'."""
    return {p.values[0].op: p.values[1] for p in param_sets() if p.id.endswith("-" + which)}


DEFAULT_PARAMS, OTHER_PARAMS = _params("default"), _params("other")


def elementwise_overloads():
    yield OPS.heaviside.default
    for entry in ENTRIES:
        for suffix in SUFFIXES:
            yield getattr(OPS, entry.op + suffix).default


# The rows whose forward is a threshold (the others fire a neuron with their own spike count).
NEURON_ENTRIES = list(registry.THRESHOLD_SURROGATES)


def multistep_overloads():
    """Every neuron operator (the engine's four per family)."""
    for n in neurons.NEURONS:
        for kind in ("multistep", "multistep_backward", "step", "step_backward"):
            yield n.op(kind).default


def without_caches():
    """Inductor's and AOTAutograd's on-disk caches off, so that the code is generated here."""
    import torch._functorch.config
    import torch._inductor.config
    from contextlib import ExitStack
    stack = ExitStack()
    stack.enter_context(torch._inductor.config.patch(fx_graph_cache=False))
    stack.enter_context(torch._functorch.config.patch(enable_autograd_cache=False))
    return stack


def compiled_code(fn):
    """Runs fn() (which compiles with Inductor) and returns the generated wrapper modules."""
    from torch._inductor.utils import run_and_get_code
    with without_caches():
        result, codes = run_and_get_code(fn)
    assert codes, "Inductor generated no code: the mechanism this test inspects has changed"
    return result, codes


def extern_calls(code):
    """The surrogate_ext operators a generated module calls."""
    return set(re.findall(r"torch\.ops\.surrogate_ext\.(\w+)\.default\(", code))


# --- The mechanism: what is registered where ---------------------------------------------------

def test_every_elementwise_operator_has_a_decomposition():
    assert inductor.skipped() == {}
    assert set(inductor.decompositions()) == set(elementwise_overloads())


def test_decompositions_are_in_inductors_table_and_nowhere_else():
    """Pins the mechanism: Inductor's select_decomp_table() serves our decompositions (with and
    without fallback_random, which switch between the table and a cached copy of it), the fused
    neuron operators are not decomposed, and the tables of torch.export and of make_fx's
    default (which aot_eager and the ONNX exporter read) do not have them."""
    import torch._decomp
    import torch._inductor.config
    import torch._inductor.decomposition

    assert inductor.is_registered()
    for fallback_random in (False, True):
        with torch._inductor.config.patch(fallback_random=fallback_random):
            table = torch._inductor.decomposition.select_decomp_table()
        for overload in elementwise_overloads():
            assert table[overload].__module__ == "surrogate_ext.core.inductor", overload
        assert not set(multistep_overloads()) & set(table)
    others = set(torch._decomp.decomposition_table) | set(torch.export.default_decompositions())
    assert not set(elementwise_overloads()) & others


def test_import_does_not_load_inductor_and_registers_when_inductor_loads():
    """`import surrogate_ext` leaves torch._inductor unimported (seconds of import time); the
    import hook registers the table the moment Inductor's decomposition module is imported."""
    code = (
        "import sys, surrogate_ext\n"
        "from surrogate_ext.core import inductor\n"
        "assert 'torch._inductor.decomposition' not in sys.modules, 'imported too early'\n"
        "assert not inductor.is_registered()\n"
        "import torch, torch._inductor.decomposition as d\n"
        "assert inductor.is_registered()\n"
        "assert torch.ops.surrogate_ext.atan_backward.default in d.select_decomp_table()\n"
        "print('registered on import')\n")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "registered on import" in out.stdout


def test_an_unknown_schema_keyword_keeps_the_operator_a_call():
    lib = torch.library.Library("surrogate_ext_compile_test", "DEF")
    lib.define("atan(Tensor x, float alpha=2., *, bool new_flag=False) -> Tensor")
    lib.define("atan_backward(Tensor grad_output, Tensor x, float alpha=2., *, float grad_scale=1.) -> Tensor")
    test_ops = torch.ops.surrogate_ext_compile_test
    problem = inductor._schema_problem(test_ops.atan.default, "", ("alpha",))
    assert problem is not None and "new_flag" in problem
    assert inductor._schema_problem(test_ops.atan_backward.default, "_backward", ("alpha",)) is None
    assert "positional" in inductor._schema_problem(test_ops.atan.default, "", ("alpha", "beta"))


# --- The decompositions themselves, evaluated eagerly (no compile) -----------------------------

def identical(a, b):
    """Bit for bit, NaN where NaN."""
    torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True)


def _decomposition(name):
    return inductor.decompositions()[getattr(OPS, name).default]


def _has_exact_primitive_derivative(entry):
    """Whether the Python table gives this row's primitive derivative as the native kernels compute
    it: the C++ functor's optional primitive_grad, else its grad. (The registry row's
    ``primitive_grad``, where it has one, else its ``grad``, is what the decomposition uses; a row
    lacking the Python counterpart of a C++ primitive_grad differs here.)"""
    x = torch.linspace(-3, 3, 601, dtype=torch.float64)
    params = DEFAULT_PARAMS[entry.op]
    native = getattr(OPS, entry.op + "_primitive_backward")(torch.ones_like(x), x, *params)
    python = inductor._primitive_derivative(entry)(x, *params)
    return torch.allclose(native, python, rtol=1e-12, atol=1e-14)


def _schema_has(name, keyword):
    return any(a.name == keyword and a.kwarg_only
               for a in getattr(OPS, name).default._schema.arguments)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16],
                         ids=str)
@pytest.mark.parametrize("entry,params", param_sets())
def test_decompositions_match_the_native_operators(entry, params, dtype):
    x = edge_values(entry, params).to(dtype)
    g = torch.linspace(-1, 1, x.numel(), dtype=torch.float64).to(dtype)
    what = f"{entry.op}{params} {dtype}"
    spike_op = getattr(OPS, entry.op)
    # The spiking forward: bit for bit the native one (heaviside, or the row's own spike).
    spike = _decomposition(entry.op)(x, *params)
    assert spike.dtype == dtype
    identical(spike, spike_op(x, *params))
    identical(spike, entry.spike(x.float() if dtype in HALF_TYPES else x, *params).to(dtype))
    native_strict = None
    if _schema_has(entry.op, "strict"):
        try:
            native_strict = spike_op(x, *params, strict=True)
        except ValueError:  # a row whose forward is not a threshold takes no strict
            pass
    if native_strict is not None or not _schema_has(entry.op, "strict"):
        strict = _decomposition(entry.op)(x, *params, strict=True)
        identical(strict, entry.spike(x.float() if dtype in HALF_TYPES else x, *params,
                                      strict=True).to(dtype))
        if native_strict is not None:
            identical(strict, native_strict)
    assert _decomposition(entry.op)(x, *params, stochastic=True) is NotImplemented
    # Trailing parameters omitted: the schema defaults.
    defaults = [a.default_value for a in getattr(OPS, entry.op + "_primitive").default._schema.arguments
                if not a.kwarg_only and a.default_value is not None]
    if defaults:
        given = params[:len(params) - len(defaults)]
        identical(_decomposition(entry.op + "_primitive")(x, *given),
                  _decomposition(entry.op + "_primitive")(x, *given, *defaults))

    primitive = _decomposition(entry.op + "_primitive")(x, *params)
    backward = _decomposition(entry.op + "_backward")(g, x, *params)
    primitive_backward = _decomposition(entry.op + "_primitive_backward")(g, x, *params)
    assert primitive.dtype == backward.dtype == primitive_backward.dtype == dtype
    assert_close_to_oracle(primitive, x, lambda t: entry.primitive(t, *params), what=what + " primitive")
    assert_close_to_oracle(backward, x, lambda t: g.double() * entry.grad(t, *params),
                           what=what + " backward")
    scaled = _decomposition(entry.op + "_backward")(g, x, *params, grad_scale=-2.5)
    assert_close_to_oracle(scaled, x, lambda t: -2.5 * g.double() * entry.grad(t, *params),
                           what=what + " backward, grad_scale")
    if _schema_has(entry.op + "_backward", "grad_scale"):
        native_scaled = getattr(OPS, entry.op + "_backward")(g, x, *params, grad_scale=-2.5)
        near = x.double().abs() < 8
        torch.testing.assert_close(scaled[near], native_scaled[near], rtol=TOLERANCES[dtype][0],
                                   atol=TOLERANCES[dtype][1], equal_nan=True)

    if dtype in HALF_TYPES:  # computed in float32 and rounded once, as the native kernels do
        identical(primitive, entry.primitive(x.float(), *params).to(dtype))
        identical(backward, (g.float() * entry.grad(x.float(), *params)).to(dtype))

    # Against the native kernels, where both are defined to the dtype's tolerance: |x| < 8 (past
    # that a periodic surrogate's plain cos and the native exact reduction part ways).
    near = x.double().abs() < 8
    rtol, atol = TOLERANCES[dtype]
    for name, decomposed, args in [("_primitive", primitive, (x,)), ("_backward", backward, (g, x))]:
        native = getattr(OPS, entry.op + name)(*args, *params)
        torch.testing.assert_close(decomposed[near], native[near], rtol=rtol, atol=atol,
                                   equal_nan=True, msg=lambda m: f"{what} {name}: {m}")
    native = getattr(OPS, entry.op + "_primitive_backward")(g, x, *params)
    if _has_exact_primitive_derivative(entry):
        torch.testing.assert_close(primitive_backward[near], native[near], rtol=rtol, atol=atol,
                                   equal_nan=True, msg=lambda m: f"{what} primitive_backward: {m}")
    else:
        # The C++ functor has an exact primitive_grad that the Python table lacks (S2NN's 1e-5
        # inside the log); the decomposition uses grad, which differs from it by < 1e-4.
        identical(primitive_backward, backward)
        torch.testing.assert_close(primitive_backward[near].double(), native[near].double(),
                                   rtol=max(rtol, 1e-4), atol=max(atol, 1e-4), equal_nan=True)


def test_heaviside_decomposition():
    x = torch.tensor([0.0, -0.0, 1e-30, -1e-30, 1.0, -1.0, float("inf"), -float("inf"),
                      float("nan")])
    for dtype in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
        xd = x.to(dtype)
        assert torch.equal(_decomposition("heaviside")(xd), OPS.heaviside(xd))
        assert torch.equal(_decomposition("heaviside")(xd, strict=True), (xd > 0).to(dtype))
        if _schema_has("heaviside", "strict"):
            assert torch.equal(_decomposition("heaviside")(xd, strict=True),
                               OPS.heaviside(xd, strict=True))


# --- Compiled with Inductor --------------------------------------------------------------------

# The inputs of _all_routes for each row: (route, spiking, parameter set).
ROUTES = [("module", True, "default"), ("module", False, "default"),
          ("torch.ops", True, "other"), ("torch.ops", False, "other")]


def _all_routes():
    """One function calling every row through its modules (default parameters) and through
    torch.ops directly (other parameters), spiking and primitive: len(ROUTES) inputs per row, one
    output per input."""
    calls = []
    for entry in ENTRIES:
        for route, spiking, which in ROUTES:
            params = (DEFAULT_PARAMS if which == "default" else OTHER_PARAMS)[entry.op]
            if route == "module":
                fn = make_module(entry, params, spiking)
            else:
                fn = getattr(OPS, entry.op if spiking else entry.op + "_primitive")
                fn = (lambda op, params: lambda x: op(x, *params))(fn, params)
            calls.append((entry, params, spiking, route, fn))

    def f(*xs):
        return [call[-1](x) for call, x in zip(calls, xs)]

    return f, calls


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_compiled_equals_eager_and_oracle(dtype, device):
    """Every row, spiking and primitive, through modules and torch.ops, compiled (fullgraph,
    Inductor) against eager and the float64 oracle, forward and backward, on the edge values.
    One compile per dtype."""
    torch._dynamo.reset()
    f, calls = _all_routes()
    values = [edge_values(e, p).to(dtype).to(device) for e, p, *_ in calls]
    inputs = [v.clone().requires_grad_(True) for v in values]
    grads = [torch.linspace(-1, 1, v.numel(), dtype=dtype, device=device) for v in values]
    compiled_out = torch.compile(f, fullgraph=True)(*inputs)
    compiled_grads = torch.autograd.grad(compiled_out, inputs, grads)
    eager_out = f(*inputs)
    eager_grads = torch.autograd.grad(eager_out, inputs, grads)
    rtol, atol = TOLERANCES[dtype]
    for i, (x, g) in enumerate(zip(values, grads)):
        entry, params, spiking, route, _ = calls[i]
        what = f"{entry.op}{params} {dtype} {device} {route} {'spiking' if spiking else 'primitive'}"
        y, dx = compiled_out[i].detach(), compiled_grads[i]
        derivative = entry.grad if spiking else inductor._primitive_derivative(entry)
        if spiking:  # bit for bit the native forward: heaviside, or the row's own spike
            identical(y, eager_out[i].detach())
            identical(y, entry.spike(x, *params))
        else:
            assert_close_to_oracle(y, x, lambda t: entry.primitive(t, *params), what=what + " primitive")
        assert_close_to_oracle(dx, x, lambda t: g.double() * derivative(t, *params),
                               what=what + " gradient")
        near = x.double().abs() < 8
        torch.testing.assert_close(y[near], eager_out[i].detach()[near], rtol=rtol, atol=atol,
                                   equal_nan=True, msg=lambda m: f"{what} forward vs eager: {m}")
        if spiking or _has_exact_primitive_derivative(entry):
            torch.testing.assert_close(dx[near], eager_grads[i][near], rtol=rtol, atol=atol,
                                       equal_nan=True, msg=lambda m: f"{what} gradient vs eager: {m}")


def test_function_classes_compile():
    """The lowercase Function classes (``surrogate_ext.atan.apply(x, alpha)``), every row, compiled
    with fullgraph: the same values and gradients as eager."""
    torch._dynamo.reset()

    def f(*xs):
        return [getattr(surrogate_ext, e.op).apply(x, *DEFAULT_PARAMS[e.op]) for e, x in zip(ENTRIES, xs)]

    inputs = [torch.randn(64, requires_grad=True) for _ in ENTRIES]
    compiled = torch.compile(f, fullgraph=True)(*inputs)
    compiled_grads = torch.autograd.grad(compiled, inputs, [torch.ones(64)] * len(ENTRIES))
    eager_grads = torch.autograd.grad(f(*inputs), inputs, [torch.ones(64)] * len(ENTRIES))
    for e, x, y, a, b in zip(ENTRIES, inputs, compiled, compiled_grads, eager_grads):
        identical(y, getattr(OPS, e.op)(x, *DEFAULT_PARAMS[e.op]))
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("device", DEVICES)
def test_inductor_fuses_every_elementwise_operator(device):
    """Proves the fusion: the forward of sum(op(v - 1) * w + op_primitive(v)) + heaviside(w) over
    every row is one generated kernel and the backward (every op_backward and
    op_primitive_backward) another, with no surrogate_ext call left."""
    def f(v, w):
        total = OPS.heaviside(w)
        for entry in ENTRIES:
            params = DEFAULT_PARAMS[entry.op]
            total = total + (getattr(OPS, entry.op)(v - 1.0, *params) * w
                             + getattr(OPS, entry.op + "_primitive")(v, *params))
        return total

    v = torch.randn(1000, device=device, requires_grad=True)
    w = torch.randn(1000, device=device, requires_grad=True)
    _, codes = compiled_code(lambda: torch.compile(f, fullgraph=True)(v, w).sum().backward())
    assert len(codes) == 2  # the forward and the backward module
    for code in codes:
        assert extern_calls(code) == set(), "an elementwise operator was left a call"
        kernels = re.findall(r"^(\w+) = async_compile\.\w+\(", code, re.MULTILINE)
        assert len(kernels) == 1, f"expected one fused kernel, got {kernels}"


def _kernels_with_ours_and_reference(function_of, *inputs):
    """The C++ kernels Inductor generates for function_of(modules)(*inputs) and its backward, with
    our spiking module of every row, then with the pure-PyTorch module of surrogate_ext.reference."""
    from surrogate_ext import reference

    kernels = []
    for namespace in (surrogate_ext, reference):
        modules = [make_module(e, DEFAULT_PARAMS[e.op]) if namespace is surrogate_ext
                   else getattr(reference, e.cls)(*DEFAULT_PARAMS[e.op]) for e in ENTRIES]
        f = torch.compile(function_of(modules), fullgraph=True)
        _, codes = compiled_code(lambda: f(*inputs).sum().backward())
        kernels.append([re.findall(r"cpp_pybinding\(\[.*?\], r?'''(.*?)'''", c, re.S) for c in codes])
    assert kernels[0] and all(kernels[0]), "no C++ kernel found in the generated code"
    return kernels


def test_compiled_spiking_operators_give_the_reference_kernels():
    """Compiled, our spiking modules generate the very kernels that the pure-PyTorch modules of
    surrogate_ext.reference generate, forward and backward, every row: the decompositions are
    those formulas, so under Inductor ours cost what plain PyTorch costs. (In primitive mode the
    kernels differ: the reference backward is autograd of g, ours the closed-form derivative. On
    CPU only: Triton kernels carry names derived from the operators.)"""
    def expression(modules):
        def f(v, w):
            total = 0
            for sg in modules:
                total = total + sg(v - 1.0) * w
            return total
        return f

    v, w = torch.randn(256, requires_grad=True), torch.randn(256, requires_grad=True)
    ours, pure = _kernels_with_ours_and_reference(expression, v, w)
    assert ours == pure


def test_compiled_lif_loop_gives_the_reference_kernels():
    """bench_compile's case (b), the hand-written LIF loop calling a surrogate module each step,
    every row in one function (T = 2): compiled with our modules it generates the very kernels it
    generates with the pure-PyTorch modules, forward and backward, so the bench's ratio compiled
    ours / compiled reference measures the machine's noise around 1.0."""
    from surrogate_ext.cli.bench_compile import lif_loop

    x = (torch.randn(2, 256) + 0.5).requires_grad_(True)
    ours, pure = _kernels_with_ours_and_reference(
        lambda modules: lambda x: sum(lif_loop(sg, x) for sg in modules), x)
    assert ours == pure


class _Neurons(torch.nn.Module):
    """One fused neuron per registry row that has one, the kinds in turn, after a linear layer."""

    KINDS = (neuron.MultiStepIFNode, neuron.MultiStepLIFNode, neuron.MultiStepParametricLIFNode)

    def __init__(self, features):
        super().__init__()
        self.fc = torch.nn.Linear(features, features)
        self.nodes = torch.nn.ModuleList(
            self.KINDS[i % 3](surrogate_function=getattr(surrogate_ext, e.cls)(), backend="native")
            for i, e in enumerate(NEURON_ENTRIES))

    def forward(self, x_seq):
        h = self.fc(x_seq)
        out = 0
        for i, node in enumerate(self.nodes):
            node.reset()
            out = out + node(h).mean(0)
            if i < len(self.KINDS):  # each kind: the state carried into a second call, v_seq in the loss
                out = out + node(x_seq).mean(0) + node.v_seq.square().mean(0)
        return out


@pytest.mark.parametrize("device", DEVICES)
def test_fused_neurons_compile_as_operator_calls(device):
    """Every row's fused neuron under Inductor (fullgraph): each stays one call of its forward and
    backward operator, nothing else is a surrogate_ext call, and spikes, the state and every
    gradient (through v_seq and the state carried across calls included) equal eager's."""
    torch.manual_seed(0)
    net = _Neurons(6).to(device)
    x = (torch.randn(5, 3, 6, device=device) + 0.5).requires_grad_(True)

    def run(model):
        out = model(x)
        grads = torch.autograd.grad(out.sum(), [x] + list(net.parameters()))
        return out, grads, [node.v.detach() for node in net.nodes]

    eager = run(net)
    compiled, codes = compiled_code(lambda: run(torch.compile(net, fullgraph=True)))
    calls = set().union(*(extern_calls(c) for c in codes))
    expected = {f"{kind}_multistep{s}" for kind in ("if", "lif", "plif") for s in ("", "_backward")}
    assert calls == expected
    for a, b in zip(torch.utils._pytree.tree_leaves(compiled), torch.utils._pytree.tree_leaves(eager)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("store_v_seq", [True, False])
def test_state_left_on_the_module_costs_only_its_own_gradient(store_v_seq):
    """A fused neuron compiled with its state left on the module: the compiled backward takes a
    gradient (a tangent) for every output that requires grad, and hands it to the fused backward.
    With store_v_seq=False that is the spikes' [T, ...] and v's one step, given as grad_v with no
    grad_v_seq; with v_seq kept, also a [T, ...] grad_v_seq, which AOTAutograd fills with zeros when
    the loss does not use v_seq (docs/compile.md). Gradients equal eager's."""
    from torch._dynamo.backends.common import aot_autograd
    tangents, calls = [], []

    def shape(arg):
        return None if arg is None else tuple(arg.meta["val"].shape)

    def backward_compiler(gm, example_inputs):
        for n in gm.graph.nodes:
            if n.op == "placeholder" and n.name.startswith("tangents"):
                tangents.append(shape(n))
            if n.op == "call_function" and "multistep_backward" in str(n.target):
                calls.append((shape(n.args[1]), shape(n.args[2])))  # grad_v_seq, grad_v
        return gm.forward

    torch._dynamo.reset()
    node = neuron.MultiStepLIFNode(surrogate_function=surrogate_ext.ATan(), backend="native",
                                   store_v_seq=store_v_seq)

    def f(x):
        node.reset()
        return node(x)

    x = (torch.randn(5, 3, 4) + 0.5).requires_grad_(True)
    (eager,) = torch.autograd.grad((f(x) * x).sum(), x)
    backend = aot_autograd(fw_compiler=lambda gm, _: gm.forward, bw_compiler=backward_compiler)
    (compiled,) = torch.autograd.grad((torch.compile(f, fullgraph=True, backend=backend)(x) * x).sum(), x)
    torch.testing.assert_close(compiled, eager)
    assert sorted(tangents) == sorted([(5, 3, 4), (3, 4)] + ([(5, 3, 4)] if store_v_seq else []))
    assert calls == [((5, 3, 4) if store_v_seq else None, (3, 4))]


# --- The other routes keep the operators -------------------------------------------------------

def _every_elementwise_call(x, g):
    outs = [OPS.heaviside(x)]
    for entry in ENTRIES:
        params = DEFAULT_PARAMS[entry.op]
        outs += [getattr(OPS, entry.op)(x, *params),
                 getattr(OPS, entry.op + "_primitive")(x, *params),
                 getattr(OPS, entry.op + "_backward")(g, x, *params),
                 getattr(OPS, entry.op + "_primitive_backward")(g, x, *params)]
    return outs


def _targets(graph):
    return {str(n.target) for n in graph.nodes if n.op == "call_function"}


def test_export_keeps_every_operator():
    class Every(torch.nn.Module):
        def forward(self, x, g):
            return _every_elementwise_call(x, g)

    x, g = torch.randn(7), torch.randn(7)
    expected = {str(o) for o in elementwise_overloads()}
    ep = torch.export.export(Every(), (x, g))
    assert expected <= _targets(ep.graph)
    assert expected <= _targets(ep.run_decompositions().graph)  # torch.export's default table
    for a, b in zip(ep.module()(x, g), _every_elementwise_call(x, g)):
        torch.testing.assert_close(a, b)


def test_aot_eager_keeps_the_operators_forward_and_backward():
    from torch._dynamo.backends.common import aot_autograd
    graphs = []

    def capture(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    torch._dynamo.reset()
    x = torch.randn(9, requires_grad=True)
    f = torch.compile(lambda x: OPS.atan(x - 1.0, 2.0) * x + OPS.sigmoid_primitive(x, 4.0),
                      backend=aot_autograd(fw_compiler=capture, bw_compiler=capture), fullgraph=True)
    f(x).sum().backward()
    targets = set().union(*(_targets(gm.graph) for gm in graphs))
    assert {"surrogate_ext.atan.default", "surrogate_ext.sigmoid_primitive.default",
            "surrogate_ext.atan_backward.default",
            "surrogate_ext.sigmoid_primitive_backward.default"} <= targets


def test_torchscript_keeps_the_operators():
    @torch.jit.script
    def f(x: torch.Tensor) -> torch.Tensor:
        return torch.ops.surrogate_ext.atan(x, 2.0) + torch.ops.surrogate_ext.erf_primitive(x, 2.0)

    graph = str(f.graph)
    assert "surrogate_ext::atan" in graph and "surrogate_ext::erf_primitive" in graph
