"""The drop-in imports: each peer's import path with its prefix renamed (the README's drop-in
table), each run in a fresh interpreter, and the paths of the flat layout before it, which are
gone so that nobody relies on them (CHANGELOG.md says where each moved)."""
from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
from typing import Dict, NamedTuple, Tuple

import pytest

import surrogate_ext
from surrogate_ext.activation_based import surrogate as activation_based_surrogate
from surrogate_ext.clock_driven import surrogate as clock_driven_surrogate
from surrogate_ext.snntorch import surrogate as snntorch_surrogate

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The peer's import prefix -> ours: a peer's import statement, renamed, is our import statement.
PREFIXES = {"spikingjelly": "surrogate_ext", "snntorch": "surrogate_ext.snntorch",
            "norse.torch": "surrogate_ext.norse"}


class Row(NamedTuple):
    peer: Tuple[str, ...]  # the peer's import statements
    ours: Tuple[str, ...]  # ours
    binds: Dict[str, str]  # name the statements bind -> "module" or "module:attribute" it must be


ROWS = {
    "spikingjelly-0.0.0.0.14": Row(
        ("from spikingjelly.clock_driven import surrogate, neuron",),
        ("from surrogate_ext.clock_driven import surrogate, neuron",),
        {"surrogate": "surrogate_ext.clock_driven.surrogate",
         "neuron": "surrogate_ext.clock_driven.neuron"}),
    "spikingjelly-2.0": Row(
        ("from spikingjelly.activation_based import surrogate, neuron",),
        ("from surrogate_ext.activation_based import surrogate, neuron",),
        {"surrogate": "surrogate_ext.activation_based.surrogate",
         "neuron": "surrogate_ext.activation_based.neuron"}),
    "snntorch": Row(
        ("import snntorch as snn", "from snntorch import surrogate"),
        ("import surrogate_ext.snntorch as snn", "from surrogate_ext.snntorch import surrogate"),
        {"snn": "surrogate_ext.snntorch", "surrogate": "surrogate_ext.snntorch.surrogate"}),
    "norse": Row(
        ("import norse.torch as norse", "from norse.torch.functional.threshold import threshold"),
        ("import surrogate_ext.norse as norse",
         "from surrogate_ext.norse.functional.threshold import threshold"),
        {"norse": "surrogate_ext.norse",
         "threshold": "surrogate_ext.norse.functional.threshold:threshold"}),
}

PACKAGES = {"surrogate_ext.clock_driven", "surrogate_ext.activation_based", "surrogate_ext.snntorch",
            "surrogate_ext.norse", "surrogate_ext.norse.functional"}


def rename(statement: str) -> str:
    """The peer's import statement with its prefix renamed to ours."""
    for peer in sorted(PREFIXES, key=len, reverse=True):
        for keyword in ("import ", "from "):
            if statement.startswith(keyword + peer + ".") or statement.startswith(keyword + peer + " "):
                return keyword + PREFIXES[peer] + statement[len(keyword + peer):]
    raise AssertionError(f"{statement!r} starts with no peer prefix of {sorted(PREFIXES)}")


# Run in a fresh interpreter: import the statements first thing, then report, for each bound
# name, the module it is (its __name__) or the module and name of the function it is.
_REPORT = """
import json, sys, types
bound = {{}}
for name in {names!r}:
    value = globals()[name]
    if isinstance(value, types.ModuleType):
        bound[name] = [value.__name__, hasattr(value, "__path__")]
    else:
        bound[name] = [value.__module__ + ":" + value.__qualname__, False]
print(json.dumps(bound))
"""


@pytest.mark.parametrize("row", ROWS.values(), ids=list(ROWS))
def test_our_import_is_the_peers_with_its_prefix_renamed(row):
    assert tuple(rename(s) for s in row.peer) == row.ours


@pytest.mark.parametrize("row", ROWS.values(), ids=list(ROWS))
def test_our_import_binds_the_namespace_in_a_fresh_interpreter(row):
    code = "\n".join(row.ours) + _REPORT.format(names=sorted(row.binds))
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    bound = json.loads(done.stdout.strip().splitlines()[-1])
    expected = {name: [target, target in PACKAGES] for name, target in row.binds.items()}
    assert bound == expected


@pytest.mark.parametrize("row", ROWS.values(), ids=list(ROWS))
def test_our_import_binds_the_namespace_here(row):
    namespace = {}
    exec("\n".join(row.ours), namespace)
    for name, target in row.binds.items():
        module, _, attribute = target.partition(":")
        expected = importlib.import_module(module)
        assert namespace[name] is (getattr(expected, attribute) if attribute else expected), name


def test_readme_table_lists_every_import():
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    for row in ROWS.values():
        for statement in row.peer + row.ours:
            assert f"`{statement}`" in readme, statement


def test_top_level_is_the_seeds_surrogate_module():
    """``import surrogate_ext as surrogate`` gives clock_driven.surrogate's names, the same objects."""
    for name in clock_driven_surrogate.__all__:
        assert getattr(surrogate_ext, name) is getattr(clock_driven_surrogate, name), name


# --- the layout before: module paths that are gone ---------------------------------------------

GONE_MODULES = {
    "surrogate_ext.surrogate": "surrogate_ext.clock_driven.surrogate",
    "surrogate_ext.neuron": "surrogate_ext.clock_driven.neuron",
    "surrogate_ext.registry": "surrogate_ext.core.registry",
    "surrogate_ext.reference": "surrogate_ext.core.reference",
    "surrogate_ext._classes": "surrogate_ext.core.classes",
    "surrogate_ext._peers": "surrogate_ext.core.peers",
    "surrogate_ext._fake": "surrogate_ext.core.fake",
    "surrogate_ext._library": "surrogate_ext.core.library",
    "surrogate_ext._cli": "surrogate_ext.cli.options",
    "surrogate_ext.inductor": "surrogate_ext.core.inductor",
    "surrogate_ext.bench": "surrogate_ext.cli.bench",
    "surrogate_ext.bench_compile": "surrogate_ext.cli.bench_compile",
    "surrogate_ext.bench_neuron": "surrogate_ext.cli.bench_neuron",
    "surrogate_ext.demo": "surrogate_ext.cli.demo",
    "surrogate_ext.plot": "surrogate_ext.cli.plot",
    "surrogate_ext.selfcheck": "surrogate_ext.cli.selfcheck",
}


@pytest.mark.parametrize("old,new", GONE_MODULES.items(), ids=list(GONE_MODULES))
def test_old_module_is_gone_and_its_new_place_imports(old, new):
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(old)
    assert importlib.util.find_spec(new) is not None


def test_neuron_is_no_top_level_name():
    with pytest.raises(ImportError):
        from surrogate_ext import neuron  # noqa: F401


def test_registry_and_reference_stay_attributes_of_the_top_level():
    from surrogate_ext.core import reference, registry
    assert surrogate_ext.registry is registry and surrogate_ext.reference is reference


def test_activation_based_is_no_longer_the_surrogate_module():
    """Was: ``import surrogate_ext.activation_based as surrogate; surrogate.ATan()``."""
    import surrogate_ext.activation_based as old
    assert hasattr(old, "__path__")
    names = [s.name for s in activation_based_surrogate.SPECS] + ["SurrogateFunctionBase", "heaviside"]
    assert [n for n in names if hasattr(old, n)] == []
    with pytest.raises(AttributeError):
        old.ATan()


def test_snntorch_is_no_longer_the_surrogate_module():
    """Was: ``from surrogate_ext import snntorch as surrogate; surrogate.fast_sigmoid()``."""
    from surrogate_ext import snntorch as old
    names = [row.name for row in snntorch_surrogate.SURROGATES] + ["SSO", "custom_surrogate"]
    assert [n for n in names if hasattr(old, n)] == []
    with pytest.raises(AttributeError):
        old.fast_sigmoid(slope=25)


def test_norse_is_no_longer_the_threshold_module():
    """Was: ``from surrogate_ext import norse as threshold; threshold.threshold(x, method, alpha)``.
    (``norse.torch`` itself has some of the ``*_fn`` at its top, so only the two names it lacks
    are checked.)"""
    from surrogate_ext import norse as old
    assert [n for n in ("threshold", "sign") if hasattr(old, n)] == []
    with pytest.raises(AttributeError):
        getattr(old, "threshold")
