"""SpikingJelly 2.0's ``spikingjelly.activation_based``, with its prefix renamed::

    from surrogate_ext.activation_based import surrogate, neuron   # for: from spikingjelly.activation_based import ...

:mod:`.surrogate` holds SpikingJelly 2.0's 19 surrogate classes, :mod:`.neuron` its neurons.
"""
from . import surrogate  # noqa: F401
from . import neuron  # noqa: F401
