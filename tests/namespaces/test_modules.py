"""The module API mirrors spikingjelly.clock_driven.surrogate, driven by the registry."""
import inspect
import math

import pytest
import torch

import surrogate_ext
from surrogate_ext import registry
from conftest import make_module, op, param_sets

ENTRIES = list(registry.SURROGATES)
IDS = [e.op for e in ENTRIES]
SPECS = surrogate_ext.clock_driven.surrogate.SPECS

DOCUMENTED_NAMES = (["heaviside", "check_manual_grad", "check_cuda_grad", "SurrogateFunctionBase",
                     "MultiArgsSurrogateFunctionBase"]
                    + [s.name for s in SPECS] + [e.op for e in ENTRIES])


@pytest.mark.parametrize("name", DOCUMENTED_NAMES)
def test_documented_name_exists(name):
    assert hasattr(surrogate_ext, name)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_constructor_signature_and_defaults(spec):
    cls = getattr(surrogate_ext, spec.name)
    sig = inspect.signature(cls.__init__)
    names = [p for p in sig.parameters if p != "self"]
    expected = ([n for n, _ in spec.params] + (["spiking"] if spec.spiking else [])
                + [n for n, _ in spec.extra])
    assert names == expected
    for name, default in spec.params + spec.extra:
        if default is registry.REQUIRED:
            assert sig.parameters[name].default is inspect.Parameter.empty
        else:
            assert sig.parameters[name].default == default
    if spec.spiking:
        assert sig.parameters["spiking"].default is True
    base = (surrogate_ext.MultiArgsSurrogateFunctionBase if len(spec.params) > 1
            else surrogate_ext.SurrogateFunctionBase)
    assert issubclass(cls, base)


def test_constructor_signatures_of_spikingjelly_2():
    sig = lambda cls: str(inspect.signature(cls.__init__))  # noqa: E731
    assert sig(surrogate_ext.FakeNumericalGradient) == "(self, alpha=0.3)"
    assert sig(surrogate_ext.MultiLevelSpikeCount) == "(self, max_spike_count, spiking=True, grad_window=None)"
    assert sig(surrogate_ext.PoissonPass) == "(self, spiking=True)"
    assert sig(surrogate_ext.LeakyKReLU) == "(self, leak=0.0, k=1.0, spiking=True)"


@pytest.mark.parametrize("entry,params", param_sets())
def test_forward_modes_and_set_spiking_mode(entry, params):
    m = make_module(entry, params)
    x = torch.randn(100, dtype=torch.float64) * 3
    spikes = entry.spike(x, *params)
    assert torch.equal(m(x), spikes)
    m.set_spiking_mode(False)
    assert not m.spiking
    torch.testing.assert_close(m(x), entry.primitive(x, *params))
    m.set_spiking_mode(True)
    assert torch.equal(m(x), spikes)
    m2 = make_module(entry, params, spiking=False)
    torch.testing.assert_close(m2(x), entry.primitive(x, *params))


def test_assigning_a_parameter_takes_effect():
    """Annealing a surrogate: the forward reads the attribute on every call."""
    m = surrogate_ext.ATan(alpha=2.0)
    x = torch.linspace(-1, 1, 11, dtype=torch.float64, requires_grad=True)
    m.alpha = 5.0
    m(x).sum().backward()
    torch.testing.assert_close(x.grad, registry.BY_OP["atan"].grad(x.detach(), 5.0))


def test_poisson_pass_fires_with_probability_x_and_passes_the_gradient():
    torch.manual_seed(0)
    x = torch.full((20000,), 0.3, dtype=torch.float64, requires_grad=True)
    y = surrogate_ext.PoissonPass()(x)
    assert y.dtype == torch.float64 and set(y.unique().tolist()) <= {0.0, 1.0}
    assert abs(y.mean().item() - 0.3) < 0.02
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))
    torch.manual_seed(1)
    a = surrogate_ext.PoissonPass()(x.detach())
    torch.manual_seed(1)
    assert torch.equal(a, torch.bernoulli(x.detach()))  # torch's generator, as SpikingJelly draws
    assert torch.equal(surrogate_ext.PoissonPass(spiking=False)(x), x)
    for bad in (torch.tensor([0.5, 1.5]), torch.tensor([-0.1]), torch.tensor([float("nan")])):
        with pytest.raises(ValueError, match=r"firing probability g\(x\) must lie in \[0, 1\]"):
            surrogate_ext.PoissonPass()(bad)


@pytest.mark.parametrize("entry,params", param_sets())
def test_extra_repr(entry, params):
    m = make_module(entry, params)
    values = [f"{n}={getattr(m, n)}" for n in m._param_names]
    assert m.extra_repr() == ", ".join(values + ["spiking=True"])
    if entry.param_names == ("alpha",):
        assert m.extra_repr() == f"alpha={params[0]}, spiking=True"


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_static_functions_are_the_native_ops(entry):
    cls = getattr(surrogate_ext, entry.cls)
    assert cls.spiking_function is op(entry.op)
    assert cls.primitive_function is op(entry.op + "_primitive")
    assert cls.backward is op(entry.op + "_backward")


# Values that each constraint rejects
BAD_VALUES = {
    registry.POSITIVE: [0.0, -1.0, math.nan, math.inf],
    registry.GREATER_THAN_ONE: [1.0, 0.5, math.nan],
    registry.INTEGER_AT_LEAST_ONE: [0, -3],
    registry.FINITE: [math.nan, -math.inf],
    None: [],
}


def _bad_cases():
    for entry in ENTRIES:
        for i, p in enumerate(entry.params):
            for v in BAD_VALUES[p.constraint]:
                params = list(entry.example_params)
                params[i] = v
                yield pytest.param(entry, tuple(params), p.name, id=f"{entry.op}-{p.name}={v}")
    mlsc = registry.BY_OP["multi_level_spike_count"]
    for window in [(1.0, 0.5), (math.nan, 1.0)]:
        yield pytest.param(mlsc, (4,) + window, "grad_min", id=f"multi_level_spike_count-window={window}")


@pytest.mark.parametrize("entry,params,name", list(_bad_cases()))
def test_invalid_parameters_raise_same_value_error_in_module_and_op(entry, params, name):
    with pytest.raises(ValueError) as module_error:
        make_module(entry, params)
    message = str(module_error.value)
    assert name in message and entry.op in message
    x = torch.randn(3)
    for suffix in ("", "_primitive"):
        with pytest.raises(ValueError) as op_error:
            op(entry.op + suffix)(x, *params)
        assert str(op_error.value).splitlines()[0] == message
    for suffix in ("_backward", "_primitive_backward"):
        with pytest.raises(ValueError) as op_error:
            op(entry.op + suffix)(x, x, *params)
        assert str(op_error.value).splitlines()[0] == message


def test_non_integer_n_is_rejected():
    with pytest.raises(ValueError, match="n must be an integer >= 1, got 2.5"):
        surrogate_ext.SquarewaveFourierSeries(n=2.5)


def test_qpseudospike_alpha_one_is_rejected():
    with pytest.raises(ValueError, match="q_pseudo_spike: alpha must be finite and > 1, got 1"):
        surrogate_ext.QPseudoSpike(alpha=1)


BAD_TENSORS = {
    "int64": torch.arange(4), "bool": torch.ones(4, dtype=torch.bool),
    "complex64": torch.ones(4, dtype=torch.complex64), "int8": torch.ones(4, dtype=torch.int8),
}


@pytest.mark.parametrize("dtype_name", list(BAD_TENSORS))
@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_non_float_tensor_is_rejected(entry, dtype_name):
    bad = BAD_TENSORS[dtype_name]
    for suffix in ("", "_primitive"):
        with pytest.raises(TypeError, match="x must be a float32, float64, float16 or bfloat16 tensor"):
            op(entry.op + suffix)(bad, *entry.example_params)
    with pytest.raises(TypeError, match="x must be a float32"):
        op(entry.op + "_backward")(torch.ones(4), bad, *entry.example_params)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
@pytest.mark.parametrize("suffix", ["_backward", "_primitive_backward"])
def test_mismatched_grad_output_is_rejected(entry, suffix):
    x = torch.randn(4, 3)
    f = op(entry.op + suffix)
    with pytest.raises(ValueError, match=r"grad_output must have the same shape as x, got \[3, 4\] and \[4, 3\]"):
        f(torch.ones(3, 4), x, *entry.example_params)
    with pytest.raises(TypeError, match="grad_output must have the same dtype as x"):
        f(torch.ones(4, 3, dtype=torch.float64), x, *entry.example_params)
    with pytest.raises(RuntimeError, match="grad_output must be on the same device as x"):
        f(torch.ones(4, 3, device="meta"), x, *entry.example_params)


def test_heaviside_rejects_integer_tensor():
    with pytest.raises(TypeError, match="heaviside: x must be"):
        surrogate_ext.heaviside(torch.arange(3))


@pytest.mark.parametrize("entry,params", param_sets())
def test_function_classes_apply(entry, params):
    fn = getattr(surrogate_ext, entry.op)
    assert issubclass(fn, torch.autograd.Function)
    x = torch.randn(50, dtype=torch.float64, requires_grad=True)
    y = fn.apply(x, *params)
    assert torch.equal(y.detach(), entry.spike(x.detach(), *params))
    y.sum().backward()
    torch.testing.assert_close(x.grad, entry.grad(x.detach(), *params))


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_check_manual_grad_returns_max_error(entry, capsys):
    cls = getattr(surrogate_ext, entry.cls)
    fn = getattr(surrogate_ext, entry.op)
    err = surrogate_ext.check_manual_grad(cls.primitive_function,
                                          lambda x, *a: fn.apply(x, *a), *entry.example_params)
    assert err < 1e-4
    out = capsys.readouterr().out
    assert "auto   grad" in out and "manual grad" in out and "max error" in out


def test_check_manual_grad_documented_example():
    def s2nn_apply(x, alpha, beta):
        return surrogate_ext.s2nn.apply(x, alpha, beta)
    err = surrogate_ext.check_manual_grad(surrogate_ext.S2NN.primitive_function, s2nn_apply, alpha=4., beta=1.)
    assert 0 < err < 1e-4  # S2NN's primitive carries a 1e-5 in its log


def test_check_manual_grad_detects_a_wrong_gradient():
    wrong = lambda x, alpha: surrogate_ext.sigmoid.apply(x, alpha * 2)  # noqa: E731
    assert surrogate_ext.check_manual_grad(surrogate_ext.Sigmoid.primitive_function, wrong, 4.0) > 0.1


class ToyMultiStepNeuron(torch.nn.Module):
    """A minimal multi-step LIF neuron (tau=2, detached hard reset) with a 'torch' backend (surrogate module) and a 'native'
    backend (the native spiking op), to exercise check_cuda_grad's contract."""

    def __init__(self, surrogate_function, backend="torch", corrupt=False):
        super().__init__()
        self.surrogate_function, self.backend, self.corrupt = surrogate_function, backend, corrupt
        self.v = 0.0

    def reset(self):
        self.v = 0.0

    def forward(self, x_seq):
        spikes = []
        for x in x_seq:
            self.v = self.v + (x - self.v) / 2
            h = self.v - 1.0
            if self.backend == "torch":
                s = surrogate_ext.reference.spiking(self.surrogate_function._spec.op, h,
                                                    *self.surrogate_function.surrogate_params())
            else:
                params = self.surrogate_function.surrogate_params()
                if self.corrupt:
                    params = tuple(p * 2 if isinstance(p, float) else p for p in params)
                s = op(self.surrogate_function._spec.op)(h, *params)
            spikes.append(s)
            self.v = self.v * (1 - s.detach())
        return torch.stack(spikes)


THRESHOLD = [e for e in registry.THRESHOLD_SURROGATES]


@pytest.mark.parametrize("entry", THRESHOLD, ids=[e.op for e in THRESHOLD])
def test_check_cuda_grad_with_any_neuron(entry):
    errors = surrogate_ext.check_cuda_grad(ToyMultiStepNeuron, getattr(surrogate_ext, entry.cls), "cpu")
    assert set(errors) == {torch.float32, torch.float16}
    assert errors[torch.float32] < 1e-5
    # float16 BPTT over 512 steps accumulates rounding differently in the two backends
    assert math.isfinite(errors[torch.float16])


def test_check_cuda_grad_detects_a_difference():
    neuron = lambda surrogate_function: ToyMultiStepNeuron(surrogate_function, corrupt=True)  # noqa: E731
    errors = surrogate_ext.check_cuda_grad(neuron, surrogate_ext.ATan, "cpu")
    assert errors[torch.float32] > 1e-2
