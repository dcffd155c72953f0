"""Bad input, for every entry point, enumerated rather than listed: every operator of the
``surrogate_ext`` namespace as the dispatcher knows it, every registry row's module class, and the
neurons. Each must reject invalid parameters with a ValueError that names them, wrong dtypes with a
TypeError, shape mismatches with a ValueError and device mismatches with a RuntimeError, and never
crash the process.

An operator gets its valid arguments by argument name (VALID_ARGUMENTS) and the registry row it
belongs to (its surrogate parameters); its bad ones by argument type and by the parameter's
constraint object (INVALID_BY_CONSTRAINT). A new operator with an argument of a new name, or a
parameter with a new kind of constraint, fails test_every_operator_is_covered until the tables
here say what is valid and what is not; so does a new public submodule of surrogate_ext
(KNOWN_SUBMODULES) until its entry points are enumerated here.
"""
from __future__ import annotations

import json
import os
import math
import pkgutil
import subprocess
import sys

import pytest
import torch

import surrogate_ext
from surrogate_ext import registry
from surrogate_ext.clock_driven import neuron
from surrogate_ext.core import neurons
from conftest import make_module

NAMESPACE = "surrogate_ext"
SEQUENCE_SHAPE, STEP_SHAPE = (3, 2, 4), (2, 4)

# Valid values of every argument name the surrogate operators use (tensors are built per call).
VALID_ARGUMENTS = {
    "x": lambda: torch.randn(STEP_SHAPE),
    "grad_output": lambda: torch.randn(STEP_SHAPE),
}

# Bad values of non-tensor arguments, by name: (value, exception, what the message must contain).
INVALID_ARGUMENTS = {
    "surrogate": [("arctan", ValueError, "surrogate must be one of")],
    "surrogate_params": [([], ValueError, "surrogate_params")],
}


def neuron_of(name):
    """The neuron family an operator belongs to (name = <family>_<kind>), or None."""
    for n in neurons.NEURONS:
        if name.startswith(n.name + "_") and name[len(n.name) + 1:] in NEURON_KINDS:
            return n
    return None


NEURON_KINDS = ("multistep", "multistep_backward", "step", "step_backward")


def neuron_valid_arguments(neuron, name):
    """A valid call of a neuron operator: [T, ...] tensors for x_seq and the sequences and their
    gradients, one step for the rest; the family's example arguments and surrogate."""
    values = dict(zip(neuron.arg_names, neuron.example_args()))
    surrogate, params = neuron.example_surrogate
    values.update(surrogate=surrogate, surrogate_params=[float(p) for p in params])
    arguments = {}
    for a in schema(name).arguments:
        if a.name in values:
            arguments[a.name] = values[a.name]
        elif a.name.endswith("_seq"):
            arguments[a.name] = torch.randn(SEQUENCE_SHAPE)
        elif _is_tensor(a.type):
            arguments[a.name] = torch.rand(STEP_SHAPE)
        elif not a.has_default_value():
            raise LookupError(f"{name}: no valid value for argument {a.name!r} ({a.type})")
    return arguments


# Values each constraint object of registry.py rejects.
INVALID_BY_CONSTRAINT = [
    (registry.FINITE, [math.inf, -math.inf, math.nan]),
    (registry.POSITIVE, [0.0, -1.0, math.nan, math.inf]),
    (registry.GREATER_THAN_ONE, [1.0, 0.5, math.nan]),
    (registry.INTEGER_AT_LEAST_ONE, [0, -3]),
    (neurons.FINITE_OR_NONE, [math.inf, math.nan]),
    (neurons.RESET_MECHANISM, [3, -1]),
    (None, []),
]

# Every module of the package, dotted below surrogate_ext: those whose entry points this file
# enumerates (or that have none of their own), and those whose bad input their own test file
# enumerates from the same tables.
KNOWN_SUBMODULES = {
    "core", "core.library", "core.registry", "core.reference", "core.checks", "core.cuda_code",
    "core.fake", "core.classes", "core.peers",  # the factories: their products are checked here
    "core.neurons", "core.neuron_reference",  # the neuron operators, enumerated here
    "core.inductor",  # no entry points of user tensors (tests/core/test_compile.py)
    "clock_driven", "clock_driven.surrogate", "clock_driven.neuron", "onnx",
    "activation_based", "activation_based.neuron",
    "activation_based.surrogate",  # tests/namespaces/test_spikingjelly2.py::test_parameters_rejected_here_and_accepted_by_spikingjelly
    "snntorch",
    "snntorch.surrogate",  # tests/namespaces/test_snntorch.py::test_bad_parameters_raise_naming_the_parameter
    "snntorch._neurons",  # tests/namespaces/test_snntorch_neurons.py::test_bad_input_names_the_argument
    "norse", "norse.functional",
    "norse.functional.threshold",  # tests/namespaces/test_norse.py::test_bad_parameters_raise_naming_the_parameter
    "norse._neurons",  # tests/namespaces/test_norse_neurons.py::test_bad_input
    "__main__", "cli", "cli.options", "cli.bench", "cli.bench_neuron", "cli.demo", "cli.plot", "cli.selfcheck",
    "cli.bench_compile",  # no entry points of user tensors (tests/core/test_compile.py)
    "cli.bench_train", "cli.peer_imports",  # programs: no entry points of user tensors
}


def operator_names():
    prefix = NAMESPACE + "::"
    return sorted(name[len(prefix):] for name in torch._C._dispatch_get_all_op_names() if name.startswith(prefix))


def schema(name):
    return torch._C._get_schema(f"{NAMESPACE}::{name}", "")


def owner(name):
    """The registry row an operator belongs to (the longest op name it starts with), or None."""
    rows = [e for e in registry.SURROGATES if name == e.op or name.startswith(e.op + "_")]
    return max(rows, key=lambda e: len(e.op), default=None)


def invalid_values(param):
    for constraint, values in INVALID_BY_CONSTRAINT:
        if param.constraint is constraint:
            return values
    raise LookupError(f"no invalid values for the constraint of {param.name!r}: add them to INVALID_BY_CONSTRAINT")


def valid_arguments(name):
    """{argument: value} of a valid call, from the schema, VALID_ARGUMENTS and the owner's
    defaults (a neuron operator's from its family); optional keyword arguments with defaults are
    left out."""
    if neuron_of(name) is not None:
        return neuron_valid_arguments(neuron_of(name), name)
    entry = owner(name)
    params = dict(zip(entry.param_names, entry.example_params)) if entry else {}
    arguments = {}
    for a in schema(name).arguments:
        if a.name in params:
            arguments[a.name] = params[a.name]
        elif a.name in VALID_ARGUMENTS:
            arguments[a.name] = VALID_ARGUMENTS[a.name]()
        elif a.has_default_value():
            continue
        else:
            raise LookupError(f"{name}: no valid value for argument {a.name!r} ({a.type}): add one to VALID_ARGUMENTS")
    return arguments


def call(name, arguments):
    positional = [a.name for a in schema(name).arguments if not a.kwarg_only]
    args = [arguments[n] for n in positional if n in arguments]
    kwargs = {n: v for n, v in arguments.items() if n not in positional}
    return getattr(getattr(torch.ops, NAMESPACE), name)(*args, **kwargs)


def _is_tensor(argument_type):
    return str(argument_type) in ("Tensor", "Optional[Tensor]")


def bad_cases(name):
    """(label, arguments, exception, message regex) for operator `name`."""
    valid = valid_arguments(name)
    entry = owner(name)
    tensors = [a.name for a in schema(name).arguments if _is_tensor(a.type) and valid.get(a.name) is not None]
    for t in tensors:
        yield f"{t} int64", {**valid, t: valid[t].to(torch.int64)}, TypeError, t
        if len(tensors) > 1:  # an operator of one tensor takes any shape
            wrong = torch.tensor([0.4, 0.5]) if valid[t].numel() == 1 else valid[t].reshape(-1)[:-1]
            # a neuron operator checks the other tensors against x's shape: x's error names them
            named = "must have shape" if t in ("x", "x_seq") and neuron_of(name) else t
            yield f"{t} wrong shape", {**valid, t: wrong}, ValueError, named
            if torch.cuda.is_available():
                yield f"{t} on cuda", {**valid, t: valid[t].cuda()}, RuntimeError, t
    family = neuron_of(name)
    for p in (entry.params if entry else ()) + (family.args if family else ()):
        if p.name in valid and getattr(p, "type", None) != "Tensor":
            for value in invalid_values(p):
                yield f"{p.name}={value}", {**valid, p.name: value}, ValueError, f"{p.name} must be"
    for arg, cases in INVALID_ARGUMENTS.items():
        if arg in valid:
            for value, error, match in cases:
                yield f"{arg}={value!r}", {**valid, arg: value}, error, match


def all_bad_cases():
    for name in operator_names():
        if not schema(name).arguments:
            continue  # build_info()
        for label, arguments, error, match in bad_cases(name):
            yield pytest.param(name, arguments, error, match, id=f"{name}-{label}")


def test_every_operator_is_covered():
    """Every operator of the namespace has valid arguments here, and the valid call succeeds (so
    that a rejected bad call is rejected for the argument made bad); every parameter constraint
    has invalid values; every public submodule is known."""
    names = operator_names()
    assert len(names) >= 4 * len(registry.SURROGATES)
    for name in names:
        if schema(name).arguments:
            call(name, valid_arguments(name))
    for entry in registry.SURROGATES:
        for p in entry.params:
            invalid_values(p)
    submodules = {m.name[len("surrogate_ext."):]
                  for m in pkgutil.walk_packages(surrogate_ext.__path__, "surrogate_ext.")
                  if m.name != "surrogate_ext.libsurrogate_ext"}  # the operator library, not Python
    assert submodules <= KNOWN_SUBMODULES, (
        f"new submodules {sorted(submodules - KNOWN_SUBMODULES)}: enumerate their entry points' bad input "
        f"in {__file__} and add them to KNOWN_SUBMODULES")


@pytest.mark.parametrize("name,arguments,error,match", list(all_bad_cases()))
def test_operator_rejects_bad_input(name, arguments, error, match):
    with pytest.raises(error, match=match):
        call(name, arguments)


def test_no_bad_input_crashes_the_process():
    """Every bad call of test_operator_rejects_bad_input, and the module cases, in a child
    process: a crash (a signal, an abort) fails this test instead of ending the run."""
    code = ("import sys; sys.path[:0] = {path!r}; import test_bad_input as t; "
            "print(t.run_every_bad_call())").format(path=[os.path.dirname(os.path.abspath(__file__)), os.path.dirname(os.path.dirname(os.path.abspath(__file__)))] + sys.path)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"exit status {done.returncode}: {done.stderr[-3000:]}"
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["calls"] > 0 and not report["not_raised"], report


def run_every_bad_call():
    calls, not_raised = 0, []
    for name in operator_names():
        if not schema(name).arguments:
            continue
        for label, arguments, error, _ in bad_cases(name):
            calls += 1
            try:
                call(name, arguments)
                not_raised.append(f"{name}: {label}")
            except Exception:  # noqa: BLE001  (the types are checked in-process)
                pass
    return json.dumps({"calls": calls, "not_raised": not_raised})


# --- Modules: the registry's classes and the neurons -----------------------------------------

def _module_cases():
    for entry in registry.SURROGATES:
        for i, p in enumerate(entry.params):
            for value in invalid_values(p):
                args = list(entry.example_params)
                args[i] = value
                yield pytest.param(lambda e=entry, a=tuple(args): make_module(e, a), ValueError, f"{p.name} must be",
                                   id=f"{entry.cls}-{p.name}={value}")
        yield pytest.param(lambda e=entry: make_module(e)(torch.ones(3, dtype=torch.int64)), TypeError, "float32",
                           id=f"{entry.cls}-int64")
        yield pytest.param(lambda e=entry: make_module(e, spiking=False)(torch.ones(3, dtype=torch.int64)),
                           TypeError, "float32", id=f"{entry.cls}-primitive-int64")
    for cls in (neuron.MultiStepIFNode, neuron.MultiStepLIFNode, neuron.MultiStepParametricLIFNode):
        for backend in neuron.BACKENDS:
            yield pytest.param(lambda c=cls, b=backend: c(backend=b)(torch.randn(5)), ValueError, "x_seq",
                               id=f"{cls.__name__}-{backend}-1d")
        yield pytest.param(lambda c=cls: c(backend="native")(torch.ones(3, 4, dtype=torch.int64)), TypeError,
                           "x_seq must be a float32", id=f"{cls.__name__}-native-int64")
        yield pytest.param(lambda c=cls: c(v_threshold=math.inf), ValueError, "v_threshold",
                           id=f"{cls.__name__}-v_threshold=inf")
        for entry in registry.THRESHOLD_SURROGATES:
            for p in entry.params:
                for value in invalid_values(p)[:1]:
                    # a surrogate built past its checks (SpikingJelly's own classes do not check)
                    bad = make_module(entry)
                    yield pytest.param(
                        lambda c=cls, s=bad, n=p.name, v=value: c(surrogate_function=_with(s, n, v), backend="native"),
                        ValueError, f"{p.name} must be", id=f"{cls.__name__}-{entry.cls}-{p.name}={value}")


def _namespace_cases():
    """The drop-in namespaces, from their tables: SpikingJelly 2.0's classes (the registry),
    snnTorch's factories and Norse's functions (their PeerSurrogate rows). Bad parameter values
    are enumerated per namespace in its own test file (see KNOWN_SUBMODULES); here every entry
    point gets an invalid parameter and an int64 tensor (Norse's functions take integer tensors, as
    Norse's do: a complex one)."""
    from surrogate_ext.activation_based import surrogate as activation_based
    from surrogate_ext.norse.functional import threshold as norse
    from surrogate_ext.snntorch import surrogate as snntorch
    int64 = torch.ones(3, dtype=torch.int64)
    complex64 = torch.ones(3, dtype=torch.complex64)
    for entry in registry.SURROGATES:
        if not hasattr(activation_based, entry.cls):
            continue
        yield pytest.param(lambda e=entry: make_module(e, namespace=activation_based)(int64), TypeError, "float32",
                           id=f"activation_based.{entry.cls}-int64")
        for i, p in enumerate(entry.params):
            if not invalid_values(p):
                continue
            args = list(entry.example_params)
            args[i] = invalid_values(p)[-1]
            yield pytest.param(lambda e=entry, a=tuple(args): make_module(e, a, namespace=activation_based),
                               ValueError, f"{p.name} must be", id=f"activation_based.{entry.cls}-{p.name}")
    def valid(row):  # the peer's defaults, 1.0 where it has none
        return {p.name: 1.0 if p.default is registry.REQUIRED else p.default for p in row.params}

    for row in snntorch.SURROGATES:
        factory, kw = getattr(snntorch, row.name), valid(row)
        yield pytest.param(lambda f=factory, kw=kw: f(**kw)(int64), TypeError, "float32",
                           id=f"snntorch.{row.name}-int64")
        for p in row.params:
            yield pytest.param(lambda f=factory, kw={**kw, p.name: math.inf}: f(**kw), ValueError,
                               f"{p.name} must be", id=f"snntorch.{row.name}-{p.name}=inf")
    for row in norse.FUNCTIONS:
        function, kw = getattr(norse, row.name), valid(row)
        yield pytest.param(lambda f=function, kw=kw: f(complex64, **kw), TypeError, "float32",
                           id=f"norse.{row.name}-complex64")
        for p in row.params:
            yield pytest.param(lambda f=function, kw={**kw, p.name: math.nan}: f(torch.ones(3), **kw), ValueError,
                               f"{p.name} must be", id=f"norse.{row.name}-{p.name}=nan")


@pytest.mark.parametrize("build,error,match", list(_namespace_cases()))
def test_namespace_rejects_bad_input(build, error, match):
    with pytest.raises(error, match=match):
        build()


def _with(module, name, value):
    setattr(module, name, value)
    return module


@pytest.mark.parametrize("build,error,match", list(_module_cases()))
def test_module_rejects_bad_input(build, error, match):
    with pytest.raises(error, match=match):
        build()
