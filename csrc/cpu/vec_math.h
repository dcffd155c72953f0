#pragma once
// Math<V> for the CPU SIMD vectors of at::vec (Sleef for the special functions on AVX2), so the
// same surrogate functors run a vector of elements at a time. Vectorized<T> lives in the
// per-capability namespace at::vec::CPU_CAPABILITY, so each capability gets its own
// specialisation.

#include <surrogate_ext/math.h>

#include <ATen/cpu/vec/functional.h>
#include <ATen/cpu/vec/vec.h>

namespace surrogate_ext {

template <class T>
struct VectorMath {
  using V = at::vec::Vectorized<T>;
  static V abs(V x) { return x.abs(); }
  // exp_u20 (a polynomial, <= 20 ulp) is several times cheaper than Sleef's 1-ulp exp and far
  // inside the float32 tolerance; the surrogates' exps are the bulk of their backward cost.
  // It turns NaN into inf, so NaN is passed through.
  static V exp(V x) { return V::blendv(x.exp_u20(), x, x.isnan()); }
  static V log(V x) { return x.log(); }
  static V log1p(V x) { return x.log1p(); }
  static V atan(V x) { return x.atan(); }
  static V erfc(V x) { return x.erfc(); }
  static V sin(V x) { return x.sin(); }
  static V cos(V x) { return x.cos(); }
  // x > 0 only (the surrogates raise 1 + k|x| >= 1): exp(y log x), much cheaper than Sleef's pow.
  static V pow(V x, V y) { return exp(y * x.log()); }
  // mask: all bits set where the condition holds (what Vectorized comparisons return)
  static V where(V mask, V a, V b) { return V::blendv(b, a, mask); }
  static V sigmoid(V x) { return V(T(1)) / (V(T(1)) + exp(-x)); }
};

template <>
struct Math<at::vec::Vectorized<float>> : VectorMath<float> {};
template <>
struct Math<at::vec::Vectorized<double>> : VectorMath<double> {};

}  // namespace surrogate_ext
