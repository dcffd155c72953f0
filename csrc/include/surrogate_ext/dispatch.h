#pragma once
// dtype dispatch for every kernel (inputs are checked before, so no other dtype reaches it): float32, float64, float16, bfloat16. Inside the body,
// `scalar_t` is the storage type and `at::opmath_type<scalar_t>` (float for the half types) is
// the type the math is done in.

#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>

#define SURROGATE_EXT_DISPATCH_FLOATING(TYPE, ...) \
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, TYPE, "surrogate_ext", __VA_ARGS__)
