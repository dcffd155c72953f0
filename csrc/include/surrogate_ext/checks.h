#pragma once
// Input checks shared by every operator's host function. Each message names the operator, the
// argument and the value; parameter checks raise ValueError in Python (TORCH_CHECK_VALUE) with
// the same text as the module constructors (surrogate_ext/registry.py).

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

#include <cmath>
#include <cstdint>

namespace surrogate_ext {

// The parameter constraints. NaN fails every one of them.
inline void check_finite(const char* op, const char* name, double value) {
  TORCH_CHECK_VALUE(std::isfinite(value), op, ": ", name, " must be finite, got ", value);
}

inline void check_positive(const char* op, const char* name, double value) {
  TORCH_CHECK_VALUE(value > 0 && std::isfinite(value), op, ": ", name,
                    " must be finite and > 0, got ", value);
}

inline void check_greater_than_one(const char* op, const char* name, double value) {
  TORCH_CHECK_VALUE(value > 1 && std::isfinite(value), op, ": ", name,
                    " must be finite and > 1, got ", value);
}

inline void check_at_least_one(const char* op, const char* name, int64_t value) {
  TORCH_CHECK_VALUE(value >= 1, op, ": ", name, " must be an integer >= 1, got ", value);
}

// grad_min <= grad_max (NaN fails)
inline void check_window(const char* op, double grad_min, double grad_max) {
  TORCH_CHECK_VALUE(grad_min <= grad_max, op, ": grad_min must be <= grad_max, got ", grad_min,
                    " and ", grad_max);
}

inline bool is_supported_dtype(at::ScalarType t) {
  return t == at::kFloat || t == at::kDouble || t == at::kHalf || t == at::kBFloat16;
}

// x: a float32, float64, float16 or bfloat16 tensor.
inline void check_input(const char* op, const char* name, const at::Tensor& x) {
  TORCH_CHECK(x.defined(), op, ": ", name, " is an undefined tensor");
  TORCH_CHECK_TYPE(is_supported_dtype(x.scalar_type()), op, ": ", name,
                   " must be a float32, float64, float16 or bfloat16 tensor, got ",
                   x.scalar_type());
}

// grad_output of a backward: same shape, dtype and device as x.
inline void check_grad_output(const char* op, const at::Tensor& grad_output, const at::Tensor& x) {
  check_input(op, "x", x);
  TORCH_CHECK(grad_output.defined(), op, ": grad_output is an undefined tensor");
  TORCH_CHECK_VALUE(grad_output.sizes() == x.sizes(), op,
                    ": grad_output must have the same shape as x, got ", grad_output.sizes(),
                    " and ", x.sizes());
  TORCH_CHECK_TYPE(grad_output.scalar_type() == x.scalar_type(), op,
                   ": grad_output must have the same dtype as x, got ", grad_output.scalar_type(),
                   " and ", x.scalar_type());
  TORCH_CHECK(grad_output.device() == x.device(), op,
              ": grad_output must be on the same device as x, got ", grad_output.device(), " and ",
              x.device());
}

}  // namespace surrogate_ext
