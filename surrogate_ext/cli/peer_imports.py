"""SpikingJelly 2.0 beside SpikingJelly 0.0.0.0.14, for the programs that compare with both.

Both releases are the package ``spikingjelly``. 0.0.0.0.14 is installed in the environment as
usual; ``bash dev.sh test`` installs 2.0.0 into a folder of its own, ``<venv>/peers/spikingjelly2``
(override with SURROGATE_EXT_SPIKINGJELLY2=<folder>). :func:`import_spikingjelly2` imports that
copy under the top-level name ``spikingjelly2``, so both can be used in one process; where
``spikingjelly`` itself is 2.0 (a user's environment), it is used as it is.

How: a finder on ``sys.meta_path`` serves ``spikingjelly2.*`` from the folder's ``spikingjelly/``
files, and its loader rewrites the modules' own ``import spikingjelly...`` / ``from
spikingjelly... import`` statements to ``spikingjelly2`` before compiling them. Imports made
later, inside functions, therefore reach 2.0 too, and 0.0.0.0.14's modules in ``sys.modules``
are never touched. The rewritten modules are compiled from source each time (no .pyc).
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import re
import sys

ALIAS = "spikingjelly2"
_ORIGINAL = "spikingjelly"
# `import spikingjelly.a.b` (no `as`) binds the name `spikingjelly`: keep it bound, to the alias.
_PLAIN_IMPORT = re.compile(r"^([ \t]*)import[ \t]+spikingjelly((?:\.\w+)*)[ \t]*$", re.MULTILINE)
# `from spikingjelly.x import y`, `from spikingjelly import x`, `import spikingjelly.x as y`.
_IMPORT = re.compile(r"^([ \t]*)(from|import)([ \t]+)spikingjelly(?=[\s.])", re.MULTILINE)


def spikingjelly2_folder() -> str:
    """The folder that holds SpikingJelly 2.0's ``spikingjelly/`` package."""
    return os.environ.get("SURROGATE_EXT_SPIKINGJELLY2",
                          os.path.join(sys.prefix, "peers", "spikingjelly2"))


def rewrite_imports(source: str) -> str:
    """SpikingJelly 2.0 source with its import statements of ``spikingjelly`` aimed at the alias."""
    source = _PLAIN_IMPORT.sub(rf"\1import {ALIAS}\2; spikingjelly = {ALIAS}", source)
    return _IMPORT.sub(rf"\1\2\3{ALIAS}", source)


class _RenamingLoader(importlib.machinery.SourceFileLoader):
    def get_code(self, fullname):
        source = self.get_data(self.path).decode("utf-8")
        return compile(rewrite_imports(source), self.path, "exec", dont_inherit=True)


class _RenamingFinder(importlib.abc.MetaPathFinder):
    def __init__(self, folder: str):
        self.root = os.path.join(folder, _ORIGINAL)

    def find_spec(self, fullname, path=None, target=None):
        if fullname != ALIAS and not fullname.startswith(ALIAS + "."):
            return None
        base = os.path.join(self.root, *fullname.split(".")[1:])
        if os.path.isfile(os.path.join(base, "__init__.py")):
            origin, search = os.path.join(base, "__init__.py"), [base]
        elif os.path.isfile(base + ".py"):
            origin, search = base + ".py", None
        else:
            return None
        return importlib.util.spec_from_file_location(
            fullname, origin, loader=_RenamingLoader(fullname, origin),
            submodule_search_locations=search)


def install_spikingjelly2(folder: str | None = None) -> bool:
    """Puts the finder on ``sys.meta_path`` (once); False when the folder has no SpikingJelly."""
    folder = folder or spikingjelly2_folder()
    if not os.path.isfile(os.path.join(folder, _ORIGINAL, "__init__.py")):
        return False
    if not any(isinstance(f, _RenamingFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _RenamingFinder(folder))
    return True


def import_spikingjelly2(submodule: str = ""):
    """``spikingjelly2`` or ``spikingjelly2.<submodule>`` (SpikingJelly 2.0.0), or the installed
    ``spikingjelly`` where it is 2.0. ImportError, saying where it was looked for, otherwise."""
    installed = importlib.util.find_spec(_ORIGINAL)  # (finding it imports nothing)
    if installed is not None and any(os.path.isdir(os.path.join(d, "activation_based", "neuron"))
                                     for d in installed.submodule_search_locations or ()):
        return importlib.import_module(_ORIGINAL + ("." + submodule if submodule else ""))
    if not install_spikingjelly2():
        raise ImportError(f"SpikingJelly 2.0 is not installed (as spikingjelly, or in "
                          f"{spikingjelly2_folder()}; bash dev.sh test installs it on Python >= 3.11)")
    return importlib.import_module(ALIAS + ("." + submodule if submodule else ""))
