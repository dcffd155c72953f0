// CPU kernels of the forward operators (heaviside, op, op_primitive), AVX2 build.
#include "capability_avx2.h"
#ifdef SURROGATE_EXT_CPU_KERNELS
#include "elementwise.h"
#include "kernels.h"

#include <surrogate_ext/ops.h>

void surrogate_ext::cpu::CPU_CAPABILITY::register_forward_ops(torch::Library& m) {
  surrogate_ext::register_forward_ops<Backend>(m);
}
#endif
