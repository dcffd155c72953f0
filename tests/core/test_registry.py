"""The C++ tables (surrogates.h, neurons.h) and the Python tables (registry.py, neurons.py) agree:
every operator the library registers is a row's (tests/core/test_neurons.py checks each neuron
row's schemas)."""
import re

import pytest
import torch

import surrogate_ext
from surrogate_ext import registry
from surrogate_ext.core import neurons

SUFFIXES = ("", "_primitive", "_backward", "_primitive_backward")
NEURON_SUFFIXES = ("_multistep", "_multistep_backward", "_step", "_step_backward")
SCHEMA_TYPES = {float: "float", int: "int"}
KWARGS = {"": {"strict": False, "stochastic": False, "grad_scale": 1.0}, "_primitive": {},
          "_backward": {"grad_scale": 1.0}, "_primitive_backward": {}}


SPECIAL_OPS = {"heaviside", "build_info", "stochastic_spike_operator"}


def _native_ops():
    return {q.partition("::")[2] for q in torch._C._dispatch_get_all_op_names()
            if q.startswith("surrogate_ext::")}


def test_same_surrogates_and_neurons_in_both_tables():
    names = {n for n in _native_ops() if not n.endswith("backward") and not n.endswith("_primitive")}
    neuron_ops = {n for n in names if n.endswith(("_multistep", "_step"))}
    assert names - neuron_ops - SPECIAL_OPS == {e.op for e in registry.SURROGATES}
    assert {n.rsplit("_", 1)[0] for n in neuron_ops} == {n.name for n in neurons.NEURONS}


def test_every_operator_is_accounted_for():
    expected = set(SPECIAL_OPS) | {"stochastic_spike_operator_backward"}
    for e in registry.SURROGATES:
        expected |= {e.op + suffix for suffix in SUFFIXES}
    for n in neurons.NEURONS:
        expected |= {n.name + suffix for suffix in NEURON_SUFFIXES}
    assert _native_ops() == expected


@pytest.mark.parametrize("entry", registry.SURROGATES, ids=lambda e: e.op)
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_schema_matches_registry(entry, suffix):
    schema = getattr(torch.ops.surrogate_ext, entry.op + suffix).default._schema
    args = schema.arguments
    tensors = 2 if suffix.endswith("backward") else 1
    assert [a.name for a in args[:tensors]] == (["grad_output", "x"] if tensors == 2 else ["x"])
    params = [a for a in args[tensors:] if not a.kwarg_only]
    assert [a.name for a in params] == list(entry.param_names)
    for a, p in zip(params, entry.params):
        assert str(a.type) == SCHEMA_TYPES[p.type]
        assert a.default_value == (None if p.default is registry.REQUIRED else p.default)
    kwargs = {a.name: a.default_value for a in args if a.kwarg_only}
    assert kwargs == KWARGS[suffix]
    assert len(schema.returns) == 1
    assert schema.returns[0].name == ("grad_x" if suffix.endswith("backward") else "")


@pytest.mark.parametrize("entry", [e for e in registry.SURROGATES
                                   if registry.REQUIRED not in e.defaults], ids=lambda e: e.op)
def test_schema_defaults_make_params_optional(entry):
    x = torch.randn(16, dtype=torch.float64)
    torch.testing.assert_close(getattr(torch.ops.surrogate_ext, entry.op + "_primitive")(x),
                               entry.primitive(x, *entry.defaults))


def test_required_params_have_an_example():
    for entry in registry.SURROGATES:
        if registry.REQUIRED in entry.defaults:
            assert entry.example is not None and len(entry.example) == len(entry.params)
            entry.check(*entry.example)


def test_build_info():
    info = surrogate_ext.build_info()
    assert info["torch_version"] == re.match(r"\d+\.\d+\.\d+", torch.__version__).group(0)
    assert info["cuda"] == (torch.version.cuda is not None and "cuda_archs" in info)
    assert info["cpu_capability"] in ("avx2", "default")
    if info["cuda"]:
        assert all(a.isdigit() for a in info["cuda_archs"])


def test_library_path_loads_the_ops():
    assert surrogate_ext.library_path().endswith(".so")
    torch.ops.load_library(surrogate_ext.library_path())  # loading again is harmless
