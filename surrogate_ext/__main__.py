"""``python -m surrogate_ext``: the ``surrogate-ext`` command (see :mod:`surrogate_ext.cli`)."""
import sys

from .cli import main

sys.exit(main(prog="python -m surrogate_ext"))
