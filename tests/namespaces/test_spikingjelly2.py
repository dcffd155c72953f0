"""surrogate_ext.activation_based against SpikingJelly 2.0.0's activation_based.surrogate.

Names, signatures and reprs; the spiking forward bit for bit (x = 0 and -0.0 included), in every
dtype SpikingJelly runs, and the dtype kept; our gradients and primitives against the float64
oracle (registry), SpikingJelly's against the same oracle; user subclasses of the base; the
parameter checks. Where SpikingJelly 2.0.0 is wrong, the test checks the right value here and
pins SpikingJelly's (SJ_DIFFERS); docs/spikingjelly2.md lists every difference.
"""
import inspect
import math
import os
import re

import pytest
import torch

import surrogate_ext
from surrogate_ext.activation_based import surrogate as ab
from surrogate_ext import registry
from conftest import OTHER_PARAMS, assert_close_to_oracle, breakpoints, edge_values, make_module, same
from peers import import_spikingjelly2

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def sj():
    return import_spikingjelly2("activation_based.surrogate")


def _cases():
    for spec in ab.SPECS:
        entry = spec.entry
        sets = [entry.example_params] if spec.name != entry.cls else list(
            dict.fromkeys([entry.example_params, OTHER_PARAMS[entry.op]]))
        for params in sets:
            yield pytest.param(spec, params, id=f"{spec.name}{params}")


CASES = list(_cases())


def build(namespace, spec, params, spiking=True):
    """The class of `spec` in `namespace` (ours or SpikingJelly's), from the row's parameters."""
    if spec.name == spec.entry.cls:
        return make_module(spec.entry, params, spiking, namespace)
    return getattr(namespace, spec.name)(*params, spiking=spiking)


def forward_backward(module, x):
    x = x.clone().requires_grad_(True)
    y = module(x)
    y.sum().backward()
    return y.detach(), x.grad


# --- Where SpikingJelly 2.0.0 is not the float64 oracle (docs/spikingjelly2.md) -------------------
# (class, "grad" | "primitive" | "primitive_grad") -> f(x, named parameters) = (where, SpikingJelly's
# value there). "grad" is the spiking backward; the others are the spiking=False mode.
_inf, _nan = math.inf, math.nan


def _at(where, value):
    return lambda x, p: (where(x, p), torch.full_like(x, value(p) if callable(value) else value))


SJ_DIFFERS = {
    # sign(x)/x with sign(-0.0) = +1: 1/(-0.0) = -inf; the limit, and ours, is alpha
    ("FakeNumericalGradient", "grad"): _at(lambda x, p: (x == 0) & x.signbit(), -_inf),
    # mask * formula products: 0 * inf = NaN at the infinities
    ("PiecewiseQuadratic", "primitive"): _at(lambda x, p: x.isinf(), _nan),
    ("PiecewiseQuadratic", "primitive_grad"): _at(lambda x, p: x.isinf(), _nan),
    ("PiecewiseLeakyReLU", "primitive"): _at(lambda x, p: x.isinf(), _nan),
    ("SoftSign", "primitive_grad"): _at(lambda x, p: x.isinf(), _nan),
    # kinks and NaN: autograd's one-sided choice through SpikingJelly's expression
    ("PiecewiseLeakyReLU", "primitive_grad"): _at(lambda x, p: (x.abs() == p["w"]) | x.isnan(),
                                                  lambda p: 1 / (2 * p["w"])),
    ("LogTailedReLU", "primitive_grad"): _at(lambda x, p: x.isnan(), lambda p: p["alpha"]),
}
SJ_HAS_NO_PRIMITIVE = {"SuperSpike", "FakeNumericalGradient"}  # NotImplementedError in SpikingJelly


def check_spikingjelly_against_oracle(theirs, x, spec, params, what, oracle):
    """SpikingJelly's float64 values are the oracle's, except where SJ_DIFFERS pins them, and at
    the kinks of a gradient, where SpikingJelly's value is autograd's choice through its
    expression, which torch releases change (torch.clamp's gradient at its bounds is 1 up to
    torch 2.13 and 0 from 2.14: Rect at |x| = 1/(2 alpha), MultiLevelSpikeCount's primitive at
    0 and max_spike_count): there it must be one of the oracle's one-sided values."""
    named = dict(zip(spec.entry.param_names, params))
    where = torch.zeros_like(x, dtype=torch.bool)
    if (spec.name, what) in SJ_DIFFERS:
        where, value = SJ_DIFFERS[spec.name, what](x, named)
        assert bool(where.any()), f"{spec.name} {what}: the documented difference is not tested"
        torch.testing.assert_close(theirs[where], value[where], equal_nan=True, rtol=1e-12, atol=0,
                                   msg=lambda m: f"SpikingJelly's {spec.name} {what}: {m}")
    if what.endswith("grad"):
        kinks = torch.isin(x, torch.tensor(breakpoints(spec.entry, params), dtype=x.dtype)) & ~where
        sides = [oracle(torch.nextafter(x, torch.full_like(x, d))) for d in (-math.inf, math.inf)]
        one_sided = [(theirs - side).abs() <= 1e-12 * side.abs() for side in sides]
        assert bool((one_sided[0] | one_sided[1])[kinks].all()), \
            f"SpikingJelly's {spec.name} {what} at a kink is neither one-sided value: {theirs[kinks].tolist()}"
        where = where | kinks
    assert_close_to_oracle(theirs[~where], x[~where], oracle, what=f"SpikingJelly's {spec.name} {what}")


# --- The API ---------------------------------------------------------------------------------------

NOT_PROVIDED = {"plot_surrogate_function"}  # matplotlib + scienceplots; see docs/spikingjelly2.md


def test_every_public_name_of_spikingjelly2(sj):
    """Every public class and function of SpikingJelly's module exists here, of the same kind
    (module, autograd.Function, function) and with the same signature."""
    problems = []
    for name in dir(sj):
        theirs = getattr(sj, name)
        if name.startswith("_") or inspect.ismodule(theirs) or name in NOT_PROVIDED:
            continue
        ours = getattr(ab, name, None)
        if ours is None:
            problems.append(f"{name}: missing")
            continue
        for kind in (torch.nn.Module, torch.autograd.Function):
            if inspect.isclass(theirs) and issubclass(theirs, kind) and not (
                    inspect.isclass(ours) and issubclass(ours, kind)):
                problems.append(f"{name}: not a {kind.__name__}")
        if inspect.isclass(theirs) and issubclass(theirs, torch.autograd.Function):
            continue  # (*args, **kwargs)
        # the parameters: names, kinds, annotations, defaults and the defaults' types (not the
        # return annotation: check_manual_grad returns the largest error here)
        parameters = lambda f: [(p, type(p.default)) for p in  # noqa: E731
                                inspect.signature(f, eval_str=True).parameters.values()]
        if parameters(ours) != parameters(theirs):
            problems.append(f"{name}: {inspect.signature(ours)} != {inspect.signature(theirs)}")
    assert not problems, problems
    assert all(not hasattr(ab, name) for name in NOT_PROVIDED)
    assert {s.name for s in ab.SPECS} == {n for n in dir(sj) if inspect.isclass(getattr(sj, n))
                                         and issubclass(getattr(sj, n), sj.SurrogateFunctionBase)
                                         and n != "SurrogateFunctionBase"}


def test_module_names():
    assert ab.__all__ and all(hasattr(ab, name) for name in ab.__all__)
    assert ab.heaviside is surrogate_ext.heaviside and ab.check_manual_grad is surrogate_ext.check_manual_grad
    assert len(ab.SPECS) == 19


@pytest.mark.parametrize("spec", ab.SPECS, ids=lambda s: s.name)
def test_defaults(sj, spec):
    """Built with the required arguments only: the same parameter values, of the same types."""
    entry = spec.entry
    required = {name: entry.example_params[entry.param_names.index(name)]
                for name, default in spec.params if default is registry.REQUIRED}
    ours, theirs = getattr(ab, spec.name)(**required), getattr(sj, spec.name)(**required)
    assert repr(ours) == repr(theirs)
    assert repr(ours._sg_params) == repr(theirs._sg_params)


@pytest.mark.parametrize("spec,params", CASES)
def test_repr_and_parameters(sj, spec, params):
    for spiking in (True, False):
        ours, theirs = build(ab, spec, params, spiking), build(sj, spec, params, spiking)
        assert repr(ours) == repr(theirs)
        assert ours._sg_param_names == theirs._sg_param_names
        assert repr(ours._sg_params) == repr(theirs._sg_params)  # values and their types
        ours.set_spiking_mode(not spiking)
        theirs.set_spiking_mode(not spiking)
        assert repr(ours) == repr(theirs)


# --- Parity: the spiking forward bit for bit, gradients and primitives against the oracle ---------

@pytest.mark.parametrize("spec,params", [c for c in CASES if not c.values[0].stochastic])
def test_spiking_mode(sj, spec, params):
    entry = spec.entry
    for dtype in DTYPES:
        x = edge_values(entry, params).to(dtype)
        ours, theirs = build(ab, spec, params), build(sj, spec, params)
        y, grad = forward_backward(ours, x)
        y_sj, _ = forward_backward(theirs, x)
        assert y.dtype == y_sj.dtype == grad.dtype == dtype
        assert same(y, y_sj), f"{spec.name} {dtype}: the forward differs from SpikingJelly's"
        assert same(y, entry.spike(x, *params))
        assert_close_to_oracle(grad, x, lambda t: entry.grad(t, *params), what=f"{spec.name} {dtype}")
        # the static helpers, called as SpikingJelly's base calls them (keyword parameters)
        cls = type(ours)
        assert same(cls.spiking_function(x, **ours._sg_params), y)
        assert same(cls.backward(torch.ones_like(x), x, *ours.surrogate_params()), grad)
    x = edge_values(entry, params).double()
    _, grad_sj = forward_backward(build(sj, spec, params), x)
    check_spikingjelly_against_oracle(grad_sj, x, spec, params, "grad", lambda t: entry.grad(t, *params))


@pytest.mark.parametrize("spec,params", [c for c in CASES if not c.values[0].stochastic])
def test_primitive_mode(sj, spec, params):
    entry = spec.entry
    primitive = lambda t: entry.primitive(t, *params)  # noqa: E731
    primitive_grad = lambda t: entry.primitive_grad(t, *params)  # noqa: E731
    for dtype in DTYPES:
        x = edge_values(entry, params).to(dtype)
        ours = build(ab, spec, params, spiking=False)
        y, grad = forward_backward(ours, x)
        assert y.dtype == grad.dtype == dtype
        assert_close_to_oracle(y, x, primitive, what=f"{spec.name} primitive {dtype}")
        assert_close_to_oracle(grad, x, primitive_grad, what=f"{spec.name} primitive gradient {dtype}")
        assert same(type(ours).primitive_function(x, **ours._sg_params), y)
    x = edge_values(entry, params).double()
    theirs = build(sj, spec, params, spiking=False)
    if spec.name in SJ_HAS_NO_PRIMITIVE:
        with pytest.raises(NotImplementedError):
            theirs(x)
        return
    y_sj, grad_sj = forward_backward(theirs, x)
    check_spikingjelly_against_oracle(y_sj, x, spec, params, "primitive", primitive)
    check_spikingjelly_against_oracle(grad_sj, x, spec, params, "primitive_grad", primitive_grad)


def test_poisson_pass(sj):
    """The same draws from torch's generator as SpikingJelly, in x's dtype (SpikingJelly's are
    always float32); the gradient passes straight through; spiking=False is the identity (a new
    tensor here, x itself there); a probability outside [0, 1] is a ValueError here (torch's
    RuntimeError there)."""
    for dtype in DTYPES:
        x = torch.rand(4096, dtype=torch.float64).to(dtype)
        x[:3] = torch.tensor([0.0, -0.0, 1.0], dtype=dtype)
        torch.manual_seed(7)
        y, grad = forward_backward(ab.PoissonPass(), x)
        torch.manual_seed(7)
        y_sj, grad_sj = forward_backward(sj.PoissonPass(), x)
        assert y.dtype == grad.dtype == dtype and y_sj.dtype == torch.float32
        assert torch.equal(y.float(), y_sj) and torch.equal(y[:3].float(), torch.tensor([0., 0., 1.]))
        assert torch.equal(grad, torch.ones_like(x)) and torch.equal(grad_sj.to(dtype), grad)
        torch.manual_seed(7)
        assert same(ab.PoissonPass.spiking_function(x), y)
        torch.manual_seed(7)
        assert same(ab.poisson_pass.apply(x), y)
        identity = ab.PoissonPass(spiking=False)
        assert same(identity(x), x) and identity(x) is not x and sj.PoissonPass(spiking=False)(x) is x
    for bad in (1.5, -0.1, math.nan):
        with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
            ab.PoissonPass()(torch.tensor([0.5, bad]))
        with pytest.raises(RuntimeError, match="p_in >= 0 && p_in <= 1"):
            sj.PoissonPass()(torch.tensor([0.5, bad]))


# --- The lowercase Function classes and the module-level <name>_backward functions ----------------

@pytest.mark.parametrize("spec", ab.SPECS, ids=lambda s: s.name)
def test_function_class_and_backward_function(sj, spec):
    entry, name = spec.entry, ab.function_name(spec)
    params = entry.example_params
    ours = getattr(ab, name)
    assert issubclass(ours, torch.autograd.Function) and name in ab.__all__
    x = torch.rand(300, dtype=torch.float64) if spec.stochastic else edge_values(entry, params)
    x = x.requires_grad_(True)
    torch.manual_seed(3)
    y = ours.apply(x, *params)
    y.sum().backward()
    assert_close_to_oracle(x.grad, x.detach(), lambda t: entry.grad(t, *params), what=name)
    theirs = getattr(sj, name, None)  # SpikingJelly has none for MultiLevelSpikeCount
    if theirs is not None:
        torch.manual_seed(3)
        assert same(y.detach(), theirs.apply(x.detach(), *params).to(y.dtype))
    # <name>_backward(grad_output, x, *params) -> (grad_x, None, ...)
    backward = getattr(ab, name + "_backward")
    g = torch.randn_like(x.detach())
    result = backward(g, x.detach(), *params)
    assert len(result) == 1 + len(params) and all(r is None for r in result[1:])
    assert_close_to_oracle(result[0], x.detach(), lambda t: g * entry.grad(t, *params), what=name)
    theirs_backward = getattr(sj, name + "_backward", None)
    if theirs_backward is not None:
        result_sj = theirs_backward(g, x.detach(), *params)
        assert len(result_sj) == len(result)
        check_spikingjelly_against_oracle(result_sj[0] / g, x.detach(), spec, params, "grad",
                                          lambda t: entry.grad(t, *params))


# --- SurrogateFunctionBase and subclasses of your own ---------------------------------------------

def user_classes(surrogate):
    """A SpikingJelly 2.0 user's surrogates, written against `surrogate` (ours or SpikingJelly's):
    a subclass of the base with keyword parameters (as SpikingJelly's own DSpike is written), and
    subclasses of ATan, one with functions of its own and one with other defaults only."""

    class dspike(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, alpha):
            ctx.save_for_backward(x)
            ctx.alpha = alpha
            return surrogate.heaviside(x)

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * ctx.alpha / 2 / torch.cosh(ctx.alpha * x) ** 2, None

    class DSpike(surrogate.SurrogateFunctionBase):
        def __init__(self, alpha: float = 3, spiking=True):
            super().__init__(spiking=spiking, alpha=alpha)

        @staticmethod
        def spiking_function(x, alpha):
            return dspike.apply(x, alpha)

        @staticmethod
        def primitive_function(x, alpha):
            return torch.tanh(alpha * x) / 2 + 0.5

    class HalfATan(surrogate.ATan):  # the gradient halved, through its own spiking_function
        @staticmethod
        def spiking_function(x, alpha):
            return surrogate.atan.apply(x, alpha / 2)

    class SharpATan(surrogate.ATan):
        def __init__(self, spiking=True):
            super().__init__(alpha=6.0, spiking=spiking)

    return DSpike, HalfATan, SharpATan


def test_subclasses_of_your_own(sj):
    x = edge_values(registry.BY_OP["atan"], (2.0,)).double()
    for ours_cls, theirs_cls in zip(user_classes(ab), user_classes(sj)):
        for spiking in (True, False):
            ours, theirs = ours_cls(spiking=spiking), theirs_cls(spiking=spiking)
            assert repr(ours) == repr(theirs) and ours._sg_params == theirs._sg_params
            (y, g), (y_sj, g_sj) = forward_backward(ours, x), forward_backward(theirs, x)
            assert same(y, y_sj) if spiking else torch.allclose(y, y_sj, equal_nan=True)
            torch.testing.assert_close(g, g_sj, equal_nan=True, rtol=1e-12, atol=1e-15)
    # the neurons' native backend takes only the classes that run the native operators as they are
    DSpike, HalfATan, SharpATan = user_classes(ab)
    assert surrogate_ext.clock_driven.neuron.native_surrogate(SharpATan()) == ("atan", (6.0,), dict(strict=False, grad_scale=1.0))
    for cls in (DSpike, HalfATan):
        with pytest.raises(ValueError, match="defines its own spiking_function"):
            surrogate_ext.clock_driven.neuron.MultiStepLIFNode(surrogate_function=cls(), backend="native")
        surrogate_ext.clock_driven.neuron.MultiStepLIFNode(surrogate_function=cls())(torch.rand(3, 4))
    base = ab.SurrogateFunctionBase(alpha=1.0, beta=2)
    assert repr(base) == repr(sj.SurrogateFunctionBase(alpha=1.0, beta=2))
    with pytest.raises(NotImplementedError):
        base(x)


# --- Parameter checks: the values SpikingJelly 2.0.0 accepts and we reject ------------------------

# SpikingJelly 2.0.0's own checks in the constructors (every other value is accepted there).
SJ_ACCEPTS = {
    ("SoftSign", "alpha"): lambda v: v > 0,  # assert
    ("PiecewiseLeakyReLU", "w"): lambda v: v > 0,  # assert
    ("SquarewaveFourierSeries", "n"): lambda v: isinstance(v, int),  # assert
    ("SquarewaveFourierSeries", "T_period"): lambda v: v > 0,  # assert
    ("MultiLevelSpikeCount", "max_spike_count"): lambda v: (isinstance(v, int) and v >= 1
                                                            and not isinstance(v, bool)),
}
REJECTED = {  # values each registry constraint rejects
    registry.POSITIVE: [0.0, -1.0, math.nan, math.inf],
    registry.GREATER_THAN_ONE: [1.0, 0.5, math.nan],
    registry.INTEGER_AT_LEAST_ONE: [0, -3, 2.5, True],
    registry.FINITE: [math.nan, -math.inf],
}


def _rejected_cases():
    for spec in ab.SPECS:
        if spec.name != spec.entry.cls:
            continue
        for i, p in enumerate(spec.entry.params):
            if p.name in ("grad_min", "grad_max"):  # set through grad_window below
                continue
            for v in REJECTED.get(p.constraint, []):
                params = list(spec.entry.example_params)
                params[i] = v
                yield spec, p.name, tuple(params)
    mlsc = next(s for s in ab.SPECS if s.name == "MultiLevelSpikeCount")
    yield mlsc, "grad_window", (4, math.nan, 4.0)


def test_parameters_rejected_here_and_accepted_by_spikingjelly(sj):
    accepted_by_sj = []
    for spec, name, params in _rejected_cases():
        with pytest.raises((ValueError, TypeError), match=f"{spec.op}: .*{name[:4]}"):
            build(ab, spec, params)
        accepts = SJ_ACCEPTS.get((spec.name, name), lambda v: True)
        value = dict(zip(spec.entry.param_names, params)).get(name, params[1:])
        try:
            build(sj, spec, params)
            sj_accepted = True
        except (AssertionError, TypeError, ValueError):
            sj_accepted = False
        assert sj_accepted == accepts(value), (spec.name, name, value)
        if sj_accepted:
            accepted_by_sj.append(f"{spec.name}({name}={value!r})")
    assert "QPseudoSpike(alpha=1.0)" in accepted_by_sj and "Sigmoid(alpha=0.0)" in accepted_by_sj
    # a tensor parameter (a learnable alpha) runs in SpikingJelly; the operators take numbers
    assert sj.ATan(alpha=torch.tensor(2.0))(torch.zeros(2)).tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="alpha must be a real number"):
        ab.ATan(alpha=torch.tensor(2.0))


# --- TorchScript, torch.compile and torch.export of the generated classes -------------------------

@pytest.mark.parametrize("name,args", [("ATan", ()), ("MultiLevelSpikeCount", (3,)),
                                       ("DeterministicPass", ())])
def test_script_compile_export(name, args):
    x = torch.randn(64, dtype=torch.float64) * 2
    for spiking in (True, False):
        m = getattr(ab, name)(*args, spiking=spiking)
        expected = m(x)
        assert same(torch.jit.script(m)(x), expected)
        assert same(torch.compile(m, fullgraph=True, backend="aot_eager")(x), expected)
        assert same(torch.export.export(m, (x,)).module()(x), expected)


# --- docs/spikingjelly2.md -------------------------------------------------------------------------

DOC = os.path.join(ROOT, "docs", "spikingjelly2.md")
SWAP = "from surrogate_ext.activation_based import surrogate"


def _doc_blocks():
    text = open(DOC, encoding="utf-8").read()
    return re.findall(r"^```python\n(.*?)^```", text, re.M | re.S)


def test_doc_table_lists_the_classes_with_their_signatures():
    text = open(DOC, encoding="utf-8").read()
    rows = re.findall(r"^\| `(\w+)\((.*?)\)` \| `(\w+)`", text, re.M)
    assert [r[0] for r in rows] == [s.name for s in ab.SPECS]
    for (name, signature, op), spec in zip(rows, ab.SPECS):
        assert f"({signature})" == str(inspect.signature(getattr(ab, name))), name
        assert op == spec.op, name


def test_doc_example_runs_unchanged_on_spikingjelly2(sj, capsys):
    """The example of docs/spikingjelly2.md with the import swapped back: the same losses."""
    example = next(b for b in _doc_blocks() if SWAP in b and "losses" in b)
    results = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: a second thread only waits (10x slower on a busy machine)
    try:
        for source in (example, example.replace(SWAP, "from spikingjelly2.activation_based import surrogate")):
            namespace = {"__name__": "__doc_example__"}
            exec(compile(source, DOC, "exec"), namespace)
            results.append(namespace["losses"])
    finally:
        torch.set_num_threads(threads)
    ours, theirs = results
    assert list(ours) == list(theirs) and len(ours) >= 5
    for name in ours:
        torch.testing.assert_close(ours[name], theirs[name], rtol=1e-5, atol=1e-6, msg=name)
