// CPU kernels of the backward operators: op_backward, op_primitive_backward.
#include "elementwise.h"

#include <surrogate_ext/ops.h>

TORCH_LIBRARY_IMPL(surrogate_ext, CPU, m) {
  surrogate_ext::register_backward_ops<surrogate_ext::cpu::Backend>(m);
}
