#pragma once
// The few math functions the surrogates use, wrapped once so that a portability fix is made in
// one place. Math<V> is specialised for the scalar opmath types (float, double), for both host and
// device; a CPU SIMD vector type can get its own specialisation without touching the surrogates.
//
// The surrogates call Math<V>::f(x) with V a template parameter, so the lookup is deferred to
// instantiation and a specialisation declared after surrogates.h is still found.

#include <c10/macros/Macros.h>

#include <cmath>
#include <cstdlib>

namespace surrogate_ext {

template <class V>
struct Math;

namespace detail {
// Overloads per precision: the float ones call the single-precision C functions, which exist on
// the host (libm) and on the device (CUDA's math library).
#define SURROGATE_EXT_UNARY_MATH(name, float_fn, double_fn)                              \
  C10_HOST_DEVICE inline float name(float x) { return ::float_fn(x); }                 \
  C10_HOST_DEVICE inline double name(double x) { return ::double_fn(x); }
SURROGATE_EXT_UNARY_MATH(abs_, fabsf, fabs)
SURROGATE_EXT_UNARY_MATH(exp_, expf, exp)
SURROGATE_EXT_UNARY_MATH(exp2_, exp2f, exp2)
SURROGATE_EXT_UNARY_MATH(log_, logf, log)
SURROGATE_EXT_UNARY_MATH(log1p_, log1pf, log1p)
SURROGATE_EXT_UNARY_MATH(atan_, atanf, atan)
SURROGATE_EXT_UNARY_MATH(erfc_, erfcf, erfc)
SURROGATE_EXT_UNARY_MATH(sin_, sinf, sin)
SURROGATE_EXT_UNARY_MATH(cos_, cosf, cos)
SURROGATE_EXT_UNARY_MATH(floor_, floorf, floor)
SURROGATE_EXT_UNARY_MATH(sqrt_, sqrtf, sqrt)
SURROGATE_EXT_UNARY_MATH(rint_, rintf, rint)
#undef SURROGATE_EXT_UNARY_MATH
// cos(pi x) and sin(pi x) with the argument reduced exactly: x = q + r with q = rint(x),
// |r| <= 1/2 (x - q is exact in floating point), and f(pi x) = (-1)^q f(pi r). Every path
// (scalar, CUDA, the CPU vectors) evaluates this same function, right for every finite x: a float
// past 2^24 is an even integer, cos(pi x) = 1. Infinity gives r = NaN, as cos(inf) does.
template <bool kSin, class T>
C10_HOST_DEVICE inline T trigpi_(T x) {
  const T q = rint_(x);
  const T r = T(3.14159265358979323846) * (x - q);
  const T v = kSin ? sin_(r) : cos_(r);
  const T half = q * T(0.5);  // exact; not an integer when q is odd
  return floor_(half) != half ? -v : v;
}
C10_HOST_DEVICE inline float cospi_(float x) { return trigpi_<false>(x); }
C10_HOST_DEVICE inline double cospi_(double x) { return trigpi_<false>(x); }
C10_HOST_DEVICE inline float sinpi_(float x) { return trigpi_<true>(x); }
C10_HOST_DEVICE inline double sinpi_(double x) { return trigpi_<true>(x); }
}  // namespace detail

// An exponent y of pow(x, y), examined once, when a surrogate is built: `integer` is y when y is
// an integer with 0 < |y| <= 16, else 0. The vector pow then multiplies (powi) instead of
// evaluating exp(y log x): at most 2 log2|y| roundings, so a relative error of a few ulps.
template <class T>
struct Exponent {
  T value;
  int integer;
  explicit Exponent(double y)
      : value(T(y)), integer(y == std::floor(y) && std::abs(y) <= 16 ? int(y) : 0) {}
};

// x^m for m >= 1, by binary exponentiation (x^2 = x*x, x^3 = x*x^2, ...). With m a constant the
// loop folds away into the multiplications.
template <class V>
C10_HOST_DEVICE inline V powu(V x, unsigned m) {
  V power = x;  // x^(2^k)
  V result = x;
  bool started = false;
  for (;;) {
    if (m & 1u) {
      result = started ? result * power : power;
      started = true;
    }
    m >>= 1;
    if (m == 0) break;
    power = power * power;
  }
  return result;
}

// x^n for an integer n != 0. A vector kernel calls this for every vector with the same n: the
// switch turns each |n| <= 16 into straight multiplications behind one predictable jump, where
// the loop would cost a branch per bit of n in every vector.
template <class V, class T>
C10_HOST_DEVICE V powi(V x, int n) {
  const unsigned m = n < 0 ? unsigned(-n) : unsigned(n);
  V result = x;
  switch (m) {
#define SURROGATE_EXT_POWI_CASE(k) \
  case k:                          \
    result = powu(x, k##u);        \
    break;
    SURROGATE_EXT_POWI_CASE(1) SURROGATE_EXT_POWI_CASE(2) SURROGATE_EXT_POWI_CASE(3)
    SURROGATE_EXT_POWI_CASE(4) SURROGATE_EXT_POWI_CASE(5) SURROGATE_EXT_POWI_CASE(6)
    SURROGATE_EXT_POWI_CASE(7) SURROGATE_EXT_POWI_CASE(8) SURROGATE_EXT_POWI_CASE(9)
    SURROGATE_EXT_POWI_CASE(10) SURROGATE_EXT_POWI_CASE(11) SURROGATE_EXT_POWI_CASE(12)
    SURROGATE_EXT_POWI_CASE(13) SURROGATE_EXT_POWI_CASE(14) SURROGATE_EXT_POWI_CASE(15)
    SURROGATE_EXT_POWI_CASE(16)
#undef SURROGATE_EXT_POWI_CASE
    default:
      result = powu(x, m);
  }
  return n < 0 ? V(T(1)) / result : result;
}

// Scalar opmath types. `where(c, a, b)` is the branch-free select the surrogates use for their
// piecewise definitions; on a vector type it becomes a blend.
template <class T>
struct ScalarMath {
  static C10_HOST_DEVICE T abs(T x) { return detail::abs_(x); }
  static C10_HOST_DEVICE T exp(T x) { return detail::exp_(x); }
  // exp as torch.exp computes it (a neuron whose charge SpikingJelly writes with torch.exp)
  static C10_HOST_DEVICE T exp_as_torch(T x) { return detail::exp_(x); }
  // 2^x for x <= 0 (the gradients' exp): a surrogate folds log2(e) into its constants, and the
  // AVX2 float vector uses a cheaper exp2 for this domain (fast_math_avx2.h)
  static C10_HOST_DEVICE T exp2_nonpositive(T x) { return detail::exp2_(x); }
  static C10_HOST_DEVICE T log(T x) { return detail::log_(x); }
  static C10_HOST_DEVICE T log1p(T x) { return detail::log1p_(x); }
  static C10_HOST_DEVICE T atan(T x) { return detail::atan_(x); }
  static C10_HOST_DEVICE T erfc(T x) { return detail::erfc_(x); }
  static C10_HOST_DEVICE T sin(T x) { return detail::sin_(x); }
  static C10_HOST_DEVICE T sqrt(T x) { return detail::sqrt_(x); }
  // to the nearest integer, ties to even (torch.round)
  static C10_HOST_DEVICE T rint(T x) { return detail::rint_(x); }
  // cos(pi x), with an exact argument reduction (detail::cospi_)
  static C10_HOST_DEVICE T cospi(T x) { return detail::cospi_(x); }
  // sin(pi x), with the same exact reduction (detail::sinpi_)
  static C10_HOST_DEVICE T sinpi(T x) { return detail::sinpi_(x); }
  // (1 + u)^y for u >= 0: products for an integer y (powi), else exp(y log1p(u)). log1p keeps u's
  // digits, where pow(1 + u, y) would round 1 + u first, an error y times the rounding of 1 + u.
  static C10_HOST_DEVICE T pow1p(T u, const Exponent<T>& y) {
    if (y.integer != 0) return powi<T, T>(T(1) + u, y.integer);
    return detail::exp_(y.value * detail::log1p_(u));
  }
  static C10_HOST_DEVICE T where(bool c, T a, T b) { return c ? a : b; }
  static C10_HOST_DEVICE T sigmoid(T x) { return T(1) / (T(1) + detail::exp_(-x)); }
};

template <>
struct Math<float> : ScalarMath<float> {};
template <>
struct Math<double> : ScalarMath<double> {};

}  // namespace surrogate_ext
