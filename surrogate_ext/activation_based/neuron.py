"""SpikingJelly 2.0's neurons (filled by the neuron engine)."""
