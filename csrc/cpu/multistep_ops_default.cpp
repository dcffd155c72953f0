// CPU kernels of the fused multi-step neuron operators, DEFAULT build.
#include "capability_default.h"
#ifdef SURROGATE_EXT_CPU_KERNELS
#include "kernels.h"
#include "multistep.h"

void surrogate_ext::cpu::CPU_CAPABILITY::register_neuron_ops(torch::Library& m) {
  surrogate_ext::register_neuron_ops<NeuronBackend>(m);
}
#endif
