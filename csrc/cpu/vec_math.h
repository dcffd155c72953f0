#pragma once
// Math<V> for the CPU SIMD vectors of at::vec (Sleef for the special functions on AVX2), so the
// same surrogate functors run a vector of elements at a time. Vectorized<T> lives in the
// per-capability namespace at::vec::CPU_CAPABILITY, so each capability gets its own
// specialisation. On AVX2 the float vector's exp and cos are inlined polynomials
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
  static V exp2(V x) { return Self::exp(x * V(T(0.693147180559945309))); }
  static V log(V x) { return x.log(); }
  static V log1p(V x) { return x.log1p(); }
  static V atan(V x) { return x.atan(); }
  static V erfc(V x) { return x.erfc(); }
  static V sin(V x) { return x.sin(); }
  static V cospi(V x) { return (x * V(T(3.14159265358979323846))).cos(); }
  template <class F>
  static V with_cospi(F f) {
    return f([](V x) { return Self::cospi(x); });
  }
  // x > 0 only (the surrogates raise 1 + k|x| >= 1): exp(y log x), much cheaper than Sleef's
  // pow; an integer exponent (known when the surrogate is built) multiplies instead.
  static V pow(V x, const Exponent<T>& y) {
    if (y.integer != 0) return powi<V, T>(x, y.integer);
    return Self::exp(V(y.value) * x.log());
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
  static V exp2(V x) { return fast_math_avx2::exp2(x); }
  static V cospi(V x) { return fast_math_avx2::cospi(x); }
  // f's cos terms all take the polynomial, with no call in f's loop (a call there makes GCC keep
  // f's running sum in memory); only if some term's argument was out of the polynomial's range is
  // f redone, out of line, with fast_math_avx2::cospi (and so Sleef's cos for those arguments).
  template <class F>
  static V with_cospi(F f) {
    __m256 largest = _mm256_setzero_ps();  // of the |arguments|; max drops NaN, which needs no call
    const V result = f([&largest](V x) {
      largest = _mm256_max_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.f), x), largest);
      return V(fast_math_avx2::cospi_reduced(x));
    });
    if (__builtin_expect(!fast_math_avx2::cospi_reduced_covers(largest), 0)) return with_cospi_cold(f);
    return result;
  }
  template <class F>
  [[gnu::noinline, gnu::cold]] static V with_cospi_cold(F& f) {
    return f([](V x) { return V(fast_math_avx2::cospi(x)); });
  }
#endif
};

}  // namespace surrogate_ext
