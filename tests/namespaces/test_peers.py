"""The peer libraries the interop tests use: SpikingJelly 2.0 beside 0.0.0.0.14 (tests/peers.py),
and Norse's and snnTorch's imports."""
import importlib
import sys

import pytest

import peers


@pytest.fixture
def fake_spikingjelly2(tmp_path, monkeypatch):
    """A folder laid out like SpikingJelly 2.0's install, with the import forms the real one uses:
    absolute imports at module level and inside a function, a relative import, and a plain
    `import spikingjelly.x`."""
    pkg = tmp_path / "spikingjelly"
    (pkg / "activation_based").mkdir(parents=True)
    (pkg / "__init__.py").write_text("VERSION = 'fake 2.0'\n")
    (pkg / "logger.py").write_text("NAME = 'logger of ' + __name__\n")
    (pkg / "activation_based" / "__init__.py").write_text("")
    (pkg / "activation_based" / "surrogate.py").write_text(
        "from spikingjelly.logger import NAME\n"
        "from . import base\n"
        "import spikingjelly.logger\n"
        "def version():\n"
        "    from spikingjelly import VERSION\n"
        "    return VERSION, spikingjelly.logger.__name__\n")
    (pkg / "activation_based" / "base.py").write_text("X = 1\n")
    # as in a process that has not reached SpikingJelly 2.0 yet (another test of this worker may
    # have): without its finder and its modules, which come back afterwards. The import system
    # writes into the interpreter's own module dict, so they are taken out of that one.
    def aliased(name):
        return name == peers.ALIAS or name.startswith(peers.ALIAS + ".")

    real = {name: m for name, m in sys.modules.items() if aliased(name)}
    for name in real:
        del sys.modules[name]
    monkeypatch.setattr(sys, "meta_path", [f for f in sys.meta_path if not isinstance(f, peers._RenamingFinder)])
    monkeypatch.setattr(sys, "modules", dict(sys.modules))
    monkeypatch.setenv("SURROGATE_EXT_SPIKINGJELLY2", str(tmp_path))
    yield tmp_path
    monkeypatch.undo()
    for name in [name for name in sys.modules if aliased(name)]:
        del sys.modules[name]
    sys.modules.update(real)


def _spikingjelly_modules():
    return {name for name in sys.modules if name == "spikingjelly" or name.startswith("spikingjelly.")}


def test_import_spikingjelly2_renames_every_import(fake_spikingjelly2):
    before = _spikingjelly_modules()
    surrogate = peers.import_spikingjelly2("activation_based.surrogate")
    assert surrogate.__name__ == "spikingjelly2.activation_based.surrogate"
    assert surrogate.__file__ == str(fake_spikingjelly2 / "spikingjelly" / "activation_based" / "surrogate.py")
    assert surrogate.NAME == "logger of spikingjelly2.logger"
    assert surrogate.base.X == 1
    # An import made later, inside a function, reaches the same copy, not `spikingjelly`.
    assert surrogate.version() == ("fake 2.0", "spikingjelly2.logger")
    assert _spikingjelly_modules() == before


def test_import_spikingjelly2_skips_without_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SURROGATE_EXT_SPIKINGJELLY2", str(tmp_path / "absent"))
    monkeypatch.setattr(sys, "meta_path", [f for f in sys.meta_path
                                           if not isinstance(f, peers._RenamingFinder)])
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        peers.import_spikingjelly2()


def test_rewrite_imports_leaves_other_names():
    source = ("import spikingjelly_extra\nx = 'from spikingjelly import a'\n"
              "    from spikingjelly.b import c\nimport spikingjelly.d as e\n")
    assert peers.rewrite_imports(source) == (
        "import spikingjelly_extra\nx = 'from spikingjelly import a'\n"
        "    from spikingjelly2.b import c\nimport spikingjelly2.d as e\n")


def test_spikingjelly_0_0_0_0_14_and_2_0_in_one_process():
    old = pytest.importorskip("spikingjelly.clock_driven.surrogate")
    new = peers.import_spikingjelly2("activation_based.surrogate")
    import torch
    x = torch.linspace(-2, 2, 9, requires_grad=True)
    for module in (old, new):
        module.ATan(alpha=2.0)(x).sum().backward()
    assert old.__name__ == "spikingjelly.clock_driven.surrogate"
    assert new.__file__.startswith(peers.spikingjelly2_folder())
    assert importlib.import_module("spikingjelly").__file__ == sys.modules["spikingjelly"].__file__
    assert not sys.modules["spikingjelly"].__file__.startswith(peers.spikingjelly2_folder())


@pytest.mark.parametrize("module", ["norse.torch", "nir", "nirtorch", "snntorch"])
def test_peer_imports(module):
    top = module.split(".")[0]
    pytest.importorskip(top)
    importlib.import_module(module)
