"""Test helpers for the peer libraries: SpikingJelly 2.0 beside SpikingJelly 0.0.0.0.14, through
:mod:`surrogate_ext.cli.peer_imports` (which says how), skipping a test where it is missing::

    from peers import import_spikingjelly2
    sj2_surrogate = import_spikingjelly2("activation_based.surrogate")   # skips the test if absent
    from spikingjelly.clock_driven import surrogate as sj014_surrogate  # still 0.0.0.0.14
"""
from __future__ import annotations

import pytest

from surrogate_ext.cli import peer_imports
from surrogate_ext.cli.peer_imports import (ALIAS, _RenamingFinder, install_spikingjelly2,  # noqa: F401
                                             rewrite_imports, spikingjelly2_folder)


def import_spikingjelly2(submodule: str = ""):
    """``spikingjelly2`` or ``spikingjelly2.<submodule>`` (SpikingJelly 2.0.0).

    Skips the calling test, with the reason, when SpikingJelly 2.0 is not installed (see
    surrogate_ext.cli.peer_imports) or does not import here (it needs Python >= 3.11 and
    torch >= 2.6, and loguru).
    """
    if not install_spikingjelly2():
        pytest.skip(f"SpikingJelly 2.0 is not installed in {spikingjelly2_folder()} "
                    "(bash dev.sh test installs it on Python >= 3.11)")
    try:
        return peer_imports.import_spikingjelly2(submodule)
    except ImportError as e:
        pytest.skip(f"SpikingJelly 2.0 does not import here: {e}")
