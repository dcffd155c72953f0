// CPU kernels of the forward operators: heaviside, op, op_primitive.
#include "elementwise.h"

#include <surrogate_ext/ops.h>

TORCH_LIBRARY_IMPL(surrogate_ext, CPU, m) {
  surrogate_ext::register_forward_ops<surrogate_ext::cpu::Backend>(m);
}
