#pragma once
// Math<V> for the CPU SIMD vectors of at::vec (Sleef for the special functions on AVX2), so the
// same surrogate functors run a vector of elements at a time. Vectorized<T> lives in the
// per-capability namespace at::vec::CPU_CAPABILITY, so each capability gets its own
// specialisation. On AVX2 the float vector's exp and cos(pi x) are inlined polynomials
// (fast_math_avx2.h): the surrogates' backwards are otherwise bound by those two functions.

#include <surrogate_ext/math.h>

#include <ATen/cpu/vec/functional.h>
#include <ATen/cpu/vec/vec.h>

#ifdef CPU_CAPABILITY_AVX2
#include "fast_math_avx2.h"
#endif

namespace surrogate_ext {

// Self: the specialisation, whose exp the composite functions use.
template <class T, class Self>
struct VectorMath {
  using V = at::vec::Vectorized<T>;
  static V abs(V x) { return x.abs(); }
  // exp_u20 (a polynomial, <= 20 ulp) is several times cheaper than Sleef's 1-ulp exp and far
  // inside the float32 tolerance. It turns NaN into inf, so NaN is passed through.
  static V exp(V x) { return V::blendv(x.exp_u20(), x, x.isnan()); }
  static V exp2_nonpositive(V x) { return Self::exp(x * V(T(0.693147180559945309))); }
  // torch.exp's vector exp (Sleef's 1-ulp exp on AVX2): a neuron's charge that SpikingJelly
  // writes with torch.exp rounds as torch's does
  static V exp_as_torch(V x) { return x.exp(); }
  static V log(V x) { return x.log(); }
  static V log1p(V x) { return x.log1p(); }
  static V atan(V x) { return x.atan(); }
  static V erfc(V x) { return x.erfc(); }
  static V sin(V x) { return x.sin(); }
  static V sqrt(V x) { return x.sqrt(); }
  static V rint(V x) { return x.round(); }  // to nearest, ties to even
  // the scalar cospi's and sinpi's exact reduction (math.h's trigpi_), a vector at a time
  template <bool kSin>
  static V trigpi(V x) {
    const V q = x.round();  // to nearest even, as rint
    const V r = (x - q) * V(T(3.14159265358979323846));
    const V v = kSin ? r.sin() : r.cos();
    const V half = q * V(T(0.5));
    return V::blendv(v, v.neg(), half.floor() != half);
  }
  static V cospi(V x) { return trigpi<false>(x); }
  static V sinpi(V x) { return trigpi<true>(x); }
  // (1 + u)^y for u >= 0 (math.h's pow1p): an integer exponent (known when the surrogate is built)
  // multiplies; otherwise exp(y log1p(u)), much cheaper than Sleef's pow.
  static V pow1p(V u, const Exponent<T>& y) {
    if (y.integer != 0) return powi<V, T>(V(T(1)) + u, y.integer);
    return Self::exp(V(y.value) * u.log1p());
  }
  // mask: all bits set where the condition holds (what Vectorized comparisons return)
  static V where(V mask, V a, V b) { return V::blendv(b, a, mask); }
  static V sigmoid(V x) { return V(T(1)) / (V(T(1)) + Self::exp(-x)); }
};

template <>
struct Math<at::vec::Vectorized<double>>
    : VectorMath<double, Math<at::vec::Vectorized<double>>> {};

template <>
struct Math<at::vec::Vectorized<float>> : VectorMath<float, Math<at::vec::Vectorized<float>>> {
#ifdef CPU_CAPABILITY_AVX2
  static V exp(V x) { return fast_math_avx2::exp2(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f))); }
  static V exp2_nonpositive(V x) { return fast_math_avx2::exp2_nonpositive(x); }
  static V cospi(V x) { return fast_math_avx2::cospi(x); }
#endif
};

}  // namespace surrogate_ext
