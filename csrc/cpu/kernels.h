#pragma once
// What each capability's translation units define (in namespace surrogate_ext::cpu::<capability>).
#include "have_avx2.h"

#include <torch/library.h>

namespace surrogate_ext::cpu {
#define SURROGATE_EXT_DECLARE_CPU_KERNELS(capability)    \
  namespace capability {                                  \
  void register_forward_ops(torch::Library& m);          \
  void register_backward_ops(torch::Library& m);         \
  void register_neuron_ops(torch::Library& m);           \
  }
SURROGATE_EXT_DECLARE_CPU_KERNELS(DEFAULT)
SURROGATE_EXT_DECLARE_CPU_KERNELS(AVX2)
#undef SURROGATE_EXT_DECLARE_CPU_KERNELS
}  // namespace surrogate_ext::cpu
