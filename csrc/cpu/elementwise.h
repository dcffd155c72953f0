#pragma once
// CPU elementwise maps over any shape and strides (TensorIterator), multithreaded with
// at::parallel_for (TensorIterator::for_each), math in at::opmath_type<scalar_t>.
// The output is always a new contiguous tensor shaped like x, as the fake kernels declare.

#include <surrogate_ext/dispatch.h>

#include <ATen/TensorIterator.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>

namespace surrogate_ext::cpu {

inline at::Tensor empty_output(const at::Tensor& x) {
  return at::empty(x.sizes(), x.options(), at::MemoryFormat::Contiguous);
}

struct Backend {
  // y = Fn(s, x) with s = S<opmath>(a...)
  template <class Fn, template <class> class S, class... A>
  static at::Tensor map_unary(const at::Tensor& x, A... a) {
    at::Tensor y = empty_output(x);
    if (y.numel() == 0) return y;
    auto iter = at::TensorIteratorConfig().add_output(y).add_const_input(x).build();
    SURROGATE_EXT_DISPATCH_FLOATING(x.scalar_type(), [&] {
      using opmath_t = at::opmath_type<scalar_t>;
      const S<opmath_t> s(a...);
      iter.for_each([&](char** data, const int64_t* strides, int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
          const auto xv = *reinterpret_cast<const scalar_t*>(data[1] + i * strides[1]);
          *reinterpret_cast<scalar_t*>(data[0] + i * strides[0]) =
              static_cast<scalar_t>(Fn::apply(s, static_cast<opmath_t>(xv)));
        }
      });
    });
    return y;
  }

  // y = g * Fn(s, x) with s = S<opmath>(a...)
  template <class Fn, template <class> class S, class... A>
  static at::Tensor map_binary(const at::Tensor& g, const at::Tensor& x, A... a) {
    at::Tensor y = empty_output(x);
    if (y.numel() == 0) return y;
    auto iter =
        at::TensorIteratorConfig().add_output(y).add_const_input(g).add_const_input(x).build();
    SURROGATE_EXT_DISPATCH_FLOATING(x.scalar_type(), [&] {
      using opmath_t = at::opmath_type<scalar_t>;
      const S<opmath_t> s(a...);
      iter.for_each([&](char** data, const int64_t* strides, int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
          const auto gv = *reinterpret_cast<const scalar_t*>(data[1] + i * strides[1]);
          const auto xv = *reinterpret_cast<const scalar_t*>(data[2] + i * strides[2]);
          *reinterpret_cast<scalar_t*>(data[0] + i * strides[0]) = static_cast<scalar_t>(
              static_cast<opmath_t>(gv) * Fn::apply(s, static_cast<opmath_t>(xv)));
        }
      });
    });
    return y;
  }
};

}  // namespace surrogate_ext::cpu
