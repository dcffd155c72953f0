// CPU kernels of the backward operators (op_backward, op_primitive_backward), DEFAULT build.
#include "capability_default.h"
#ifdef SURROGATE_EXT_CPU_KERNELS
#include "elementwise.h"
#include "kernels.h"

#include <surrogate_ext/ops.h>

void surrogate_ext::cpu::CPU_CAPABILITY::register_backward_ops(torch::Library& m) {
  surrogate_ext::register_backward_ops<Backend>(m);
}
#endif
