"""The C++ table (surrogates.h) and the Python table (registry.py) agree."""
import re

import pytest
import torch

import surrogate_ext
from surrogate_ext import registry

SUFFIXES = ("", "_primitive", "_backward", "_primitive_backward")
NEURON_SUFFIXES = ("_multistep_node", "_multistep_node_backward")
SCHEMA_TYPES = {float: "float", int: "int"}


def _native_surrogates():
    names = set()
    for qualified in torch._C._dispatch_get_all_op_names():
        ns, _, name = qualified.partition("::")
        if ns == "surrogate_ext" and not name.endswith("backward") and not name.endswith("_primitive"):
            names.add(name.removesuffix("_multistep_node"))
    return names - {"heaviside", "build_info"}


def test_same_surrogates_in_both_tables():
    assert _native_surrogates() == {e.op for e in registry.SURROGATES}


@pytest.mark.parametrize("entry", registry.SURROGATES, ids=lambda e: e.op)
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_schema_matches_registry(entry, suffix):
    schema = getattr(torch.ops.surrogate_ext, entry.op + suffix).default._schema
    args = schema.arguments
    tensors = 2 if suffix.endswith("backward") else 1
    assert [a.name for a in args[:tensors]] == (["grad_output", "x"] if tensors == 2 else ["x"])
    params = args[tensors:]
    assert [a.name for a in params] == list(entry.param_names)
    for a, p in zip(params, entry.params):
        assert str(a.type) == SCHEMA_TYPES[p.type]
        assert a.default_value == p.default
    assert len(schema.returns) == 1


@pytest.mark.parametrize("entry", registry.SURROGATES, ids=lambda e: e.op)
@pytest.mark.parametrize("suffix", NEURON_SUFFIXES)
def test_neuron_schema_ends_with_the_surrogate_params(entry, suffix):
    schema = getattr(torch.ops.surrogate_ext, entry.op + suffix).default._schema
    params = schema.arguments[-len(entry.params):]
    assert [a.name for a in params] == list(entry.param_names)
    for a, p in zip(params, entry.params):
        assert str(a.type) == SCHEMA_TYPES[p.type] and a.default_value == p.default
    returns = ["spike_seq", "v_seq"] if suffix == "_multistep_node" else ["grad_x_seq", "grad_v_init", "grad_k"]
    assert [r.name for r in schema.returns] == returns


@pytest.mark.parametrize("entry", registry.SURROGATES, ids=lambda e: e.op)
def test_schema_defaults_make_params_optional(entry):
    x = torch.randn(16, dtype=torch.float64)
    torch.testing.assert_close(getattr(torch.ops.surrogate_ext, entry.op + "_primitive")(x),
                               entry.primitive(x, *entry.defaults))


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
