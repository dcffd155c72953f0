"""SpikingJelly 0.0.0.0.14's ``spikingjelly.clock_driven``, with its prefix renamed::

    from surrogate_ext.clock_driven import surrogate, neuron   # for: from spikingjelly.clock_driven import ...

:mod:`.surrogate` holds the documented surrogate classes (the specification), :mod:`.neuron` the
multi-step neurons.
"""
from . import surrogate  # noqa: F401
from . import neuron  # noqa: F401  (after the surrogates it defaults to)
