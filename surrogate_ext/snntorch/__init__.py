"""snnTorch 1.0's ``snntorch``, with its prefix renamed::

    import surrogate_ext.snntorch as snn                 # for: import snntorch as snn
    from surrogate_ext.snntorch import surrogate         # for: from snntorch import surrogate

The neuron classes are at the top of the package, as in snnTorch; :mod:`.surrogate` holds its
surrogate factories.
"""
from . import surrogate  # noqa: F401
from ._neurons import Alpha, Lapicque, Leaky, RLeaky, RSynaptic, SpikingNeuron, Synaptic  # noqa: F401
