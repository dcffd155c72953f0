"""Norse 1.1's ``norse.torch``, with its prefix renamed::

    import surrogate_ext.norse as norse                                    # for: import norse.torch as norse
    from surrogate_ext.norse.functional.threshold import threshold         # for: from norse.torch.functional.threshold import threshold

The modules and their parameter and state types are at the top of the package, as in
``norse.torch``: ``LIFCell``, ``LIF``, ``LIFBoxCell``, ``LIFBox``, ``LICell``, ``LI`` (fused
neurons of the engine, :mod:`._neurons`), ``LIFParameters``, ``LIFBoxParameters``,
``LIParameters``, ``LIFFeedForwardState``, ``LIFBoxFeedForwardState``, ``LIState`` and
``SequentialState``. :mod:`.functional.threshold` holds Norse's threshold functions, and
:func:`native_thresholds` routes Norse's own neurons to them.
"""
from . import functional  # noqa: F401
from .functional.threshold import native_thresholds  # noqa: F401
from ._neurons import (LI, LIF, CLASSES, LICell, LIFBox, LIFBoxCell,  # noqa: F401
                       LIFBoxFeedForwardState, LIFBoxParameters, LIFCell, LIFFeedForwardState,
                       LIFParameters, LIParameters, LIState, SequentialState)
