#pragma once
// All the surrogate math: one functor per surrogate, plus the table that drives everything else
// (schemas, CPU/CUDA/autograd registration, the fused neurons).
//
// A functor S<T> is built on the host from the operator's parameters, with T the opmath type
// (float for float/half/bfloat16, double for double), and is then passed by value to the CPU or
// CUDA kernels. It provides
//   primitive(x)       g(x), the smooth function whose derivative is the surrogate gradient;
//   grad(x)            g'(x), the surrogate gradient used by the spiking function's backward;
//   primitive_grad(x)  optional: the exact derivative of primitive() where it differs from grad();
//   static check(op, params...)  the parameter constraints;
//   using Args = std::tuple<...>  the parameter types, in schema order (double for "float",
//                                 int64_t for "int").
// Each method is a template over V, the value type: T itself, or a CPU SIMD vector of T.
// Formulas follow SpikingJelly 0.0.0.0.14 (spikingjelly.clock_driven.surrogate) except where noted.

#include <surrogate_ext/checks.h>
#include <surrogate_ext/math.h>

#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>

namespace surrogate_ext {

constexpr double kPi = 3.14159265358979323846;
constexpr double kLog2E = 1.44269504088896340736;  // log2(e): exp(y) = exp2(y log2(e))

// A quotient whose division a caller may share between the branches of a where().
template <class V>
struct Quotient {
  V numerator, denominator;
};

// alpha s (1 - s), s = sigmoid(alpha x), is alpha e / (1 + e)^2 with e = exp(-alpha |x|) <= 1:
// no overflowing exp, and no cancellation in 1 - s at large |x|. neg_alpha_log2e = -alpha log2(e).
template <class V, class T>
C10_HOST_DEVICE Quotient<V> sigmoid_grad(V x, T alpha, T neg_alpha_log2e) {
  const V e = Math<V>::exp2_nonpositive(V(neg_alpha_log2e) * Math<V>::abs(x));
  const V d = V(1) + e;
  return {V(alpha) * e, d * d};
}

// PiecewiseQuadratic (Esser et al. 2016; Wu et al. 2018):
//   g'(x) = alpha - alpha^2 |x| for |x| <= 1/alpha, else 0
//   g(x)  = 0 for x < -1/alpha; -alpha^2/2 x|x| + alpha x + 1/2 inside; 1 for x > 1/alpha
template <class T>
struct PiecewiseQuadratic {
  using Args = std::tuple<double>;
  static void check(const char* op, double alpha) { check_positive(op, "alpha", alpha); }
  T alpha, alpha_sq, half_alpha_sq, inv_alpha;
  explicit PiecewiseQuadratic(double a)
      : alpha(a), alpha_sq(a * a), half_alpha_sq(a * a / 2), inv_alpha(1 / a) {}

  template <class V>
  C10_HOST_DEVICE V grad(V x) const {
    using M = Math<V>;
    const V x_abs = M::abs(x);
    return M::where(x_abs > V(inv_alpha), V(0), V(alpha) - V(alpha_sq) * x_abs);
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    using M = Math<V>;
    const V inner = V(-half_alpha_sq) * x * M::abs(x) + V(alpha) * x + V(0.5);
    return M::where(x > V(inv_alpha), V(1), M::where(x < V(-inv_alpha), V(0), inner));
  }
};

// PiecewiseExp (Shrestha & Orchard 2018, SLAYER):
//   g'(x) = alpha/2 exp(-alpha |x|);  g(x) = exp(alpha x)/2 for x < 0, 1 - exp(-alpha x)/2 else
template <class T>
struct PiecewiseExp {
  using Args = std::tuple<double>;
  static void check(const char* op, double alpha) { check_positive(op, "alpha", alpha); }
  T alpha, half_alpha, neg_alpha_log2e;
  explicit PiecewiseExp(double a) : alpha(a), half_alpha(a / 2), neg_alpha_log2e(-a * kLog2E) {}

  template <class V>
  C10_HOST_DEVICE V grad(V x) const {
    using M = Math<V>;
    return V(half_alpha) * M::exp2_nonpositive(V(neg_alpha_log2e) * M::abs(x));
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    using M = Math<V>;
    const V ax = V(alpha) * x;
    return M::where(x >= V(0), V(1) - M::exp(-ax) * V(0.5), M::exp(ax) * V(0.5));
  }
};

// Sigmoid: g(x) = sigmoid(alpha x);  g'(x) = alpha s (1 - s), s = sigmoid(alpha x)
template <class T>
struct Sigmoid {
  using Args = std::tuple<double>;
  static void check(const char* op, double alpha) { check_positive(op, "alpha", alpha); }
  T alpha, neg_alpha_log2e;
  explicit Sigmoid(double a) : alpha(a), neg_alpha_log2e(-a * kLog2E) {}

  template <class V>
  C10_HOST_DEVICE V grad(V x) const {
    const Quotient<V> q = sigmoid_grad(x, alpha, neg_alpha_log2e);
    return q.numerator / q.denominator;
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    return Math<V>::sigmoid(V(alpha) * x);
  }
};

// SoftSign (Zenke & Ganguli 2018, SuperSpike):
//   g(x) = (alpha x / (1 + |alpha x|) + 1) / 2;  g'(x) = 1 / (2 alpha (1/alpha + |x|)^2)
template <class T>
struct SoftSign {
  using Args = std::tuple<double>;
  static void check(const char* op, double alpha) { check_positive(op, "alpha", alpha); }
  T alpha, inv_alpha, two_alpha;
  explicit SoftSign(double a) : alpha(a), inv_alpha(1 / a), two_alpha(2 * a) {}

  template <class V>
  C10_HOST_DEVICE V grad(V x) const {
    const V d = V(inv_alpha) + Math<V>::abs(x);
    return V(1) / (V(two_alpha) * d * d);
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    const V ax = V(alpha) * x;
    return (ax / (V(1) + Math<V>::abs(ax)) + V(1)) * V(0.5);
  }
};

// ATan: g(x) = atan(pi/2 alpha x)/pi + 1/2;  g'(x) = alpha/2 / (1 + (pi/2 alpha x)^2)
template <class T>
struct ATan {
  using Args = std::tuple<double>;
  static void check(const char* op, double alpha) { check_positive(op, "alpha", alpha); }
  T half_alpha, k, inv_pi;
  explicit ATan(double a) : half_alpha(a / 2), k(kPi / 2 * a), inv_pi(1 / kPi) {}

  template <class V>
  C10_HOST_DEVICE V grad(V x) const {
    const V kx = V(k) * x;
    return V(half_alpha) / (V(1) + kx * kx);
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    return Math<V>::atan(V(k) * x) * V(inv_pi) + V(0.5);
  }
};

// NonzeroSignLogAbs: g(x) = s log(alpha |x| + 1), s = 1 for x >= 0 else -1;
//   g'(x) = 1 / (1/alpha + |x|)
template <class T>
struct NonzeroSignLogAbs {
  using Args = std::tuple<double>;
  static void check(const char* op, double alpha) { check_positive(op, "alpha", alpha); }
  T alpha, inv_alpha;
  explicit NonzeroSignLogAbs(double a) : alpha(a), inv_alpha(1 / a) {}

  template <class V>
  C10_HOST_DEVICE V grad(V x) const {
    return V(1) / (V(inv_alpha) + Math<V>::abs(x));
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    using M = Math<V>;
    const V magnitude = M::log1p(V(alpha) * M::abs(x));
    return M::where(x >= V(0), magnitude, -magnitude);
  }
};

// Erf (Esser et al. 2015): g(x) = erfc(-alpha x)/2;  g'(x) = alpha/sqrt(pi) exp(-alpha^2 x^2)
template <class T>
struct Erf {
  using Args = std::tuple<double>;
  static void check(const char* op, double alpha) { check_positive(op, "alpha", alpha); }
  // exp(-alpha^2 x^2) = exp2(-(k x)^2), k = alpha sqrt(log2(e))
  T alpha, scale, k;
  explicit Erf(double a)
      : alpha(a), scale(a / 1.7724538509055160273), k(a * 1.2011224087864497683) {}

  template <class V>
  C10_HOST_DEVICE V grad(V x) const {
    const V kx = V(k) * x;
    return V(scale) * Math<V>::exp2_nonpositive(-(kx * kx));
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    return Math<V>::erfc(V(-alpha) * x) * V(0.5);
  }
};

// PiecewiseLeakyReLU: g'(x) = 1/(2w) for |x| < w, else c.
//   Fix: SpikingJelly 0.0.0.0.12-0.0.0.0.14 returned 1/w inside, which is not the slope of its own
//   primitive; its documentation ("the gradient is 1 / 2w") and later releases say 1/(2w).
//   g(x) = c x + c w for x < -w; x/(2w) + 1/2 for |x| <= w; c x - c w + 1 for x > w
template <class T>
struct PiecewiseLeakyReLU {
  using Args = std::tuple<double, double>;
  static void check(const char* op, double w, double /*c*/) { check_positive(op, "w", w); }
  T w, c, inv_2w, cw;
  PiecewiseLeakyReLU(double w_, double c_) : w(w_), c(c_), inv_2w(1 / (2 * w_)), cw(c_ * w_) {}

  template <class V>
  C10_HOST_DEVICE V grad(V x) const {
    return Math<V>::where(Math<V>::abs(x) < V(w), V(inv_2w), V(c));
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    using M = Math<V>;
    const V cx = V(c) * x;
    return M::where(x < V(-w), cx + V(cw),
                    M::where(x > V(w), cx - V(cw) + V(1), x * V(inv_2w) + V(0.5)));
  }
};

// SquarewaveFourierSeries: with omega = 2 pi / T,
//   g(x)  = 1/2 + 2/pi sum_{i=1}^{n-1} sin((2i-1) omega x) / (2i-1)
//   g'(x) = 4/T sum_{i=1}^{n-1} cos((2i-1) omega x) = 4/T sum cos(pi (2i-1) 2x/T)
// The gradient's terms take cospi, whose argument reduction is exact (and 2x/T is exact for a
// power-of-two T such as the default 8).
template <class T>
struct SquarewaveFourierSeries {
  using Args = std::tuple<int64_t, double>;
  static void check(const char* op, int64_t n, double T_period) {
    check_at_least_one(op, "n", n);
    check_positive(op, "T_period", T_period);
  }
  int64_t n;
  T omega, two_over_T, four_over_T, two_over_pi;
  SquarewaveFourierSeries(int64_t n_, double T_period)
      : n(n_), omega(2 * kPi / T_period), two_over_T(2 / T_period), four_over_T(4 / T_period),
        two_over_pi(2 / kPi) {}

  template <class V>
  C10_HOST_DEVICE V grad(V x) const {
    using M = Math<V>;
    const V f = V(two_over_T) * x;  // omega x / pi
    if (n < 2) return V(0);
    V total = M::cospi(f);  // i = 1: the default n = 2 is this one term
    V k(T(3));              // 2i - 1
    for (int64_t i = 2; i < n; ++i, k = k + V(T(2))) total = total + M::cospi(k * f);
    return V(four_over_T) * total;
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    V total(0);
    const V wx = V(omega) * x;
    for (int64_t i = 1; i < n; ++i) {
      const T k = T(2 * i - 1);
      total = total + Math<V>::sin(V(k) * wx) / V(k);
    }
    return V(0.5) + V(two_over_pi) * total;
  }
};

// S2NN (Suetake et al. 2023): s = sigmoid(alpha x)
//   g'(x) = alpha s (1 - s) for x < 0, beta / (x + 1) for x >= 0
//   g(x)  = s for x < 0, beta log(|x + 1| + 1e-5) + 1/2 for x >= 0
// The primitive's exact derivative for x >= 0 is beta / (x + 1 + 1e-5): primitive_grad.
// Both branches of the gradient share one division (sigmoid_grad's and beta's).
template <class T>
struct S2NN {
  using Args = std::tuple<double, double>;
  static void check(const char* op, double alpha, double /*beta*/) {
    check_positive(op, "alpha", alpha);
  }
  T alpha, beta, neg_alpha_log2e;
  S2NN(double a, double b) : alpha(a), beta(b), neg_alpha_log2e(-a * kLog2E) {}

  template <class V>
  C10_HOST_DEVICE V grad(V x) const {
    return negative_side_or(x, x + V(1));
  }
  template <class V>
  C10_HOST_DEVICE V primitive_grad(V x) const {
    return negative_side_or(x, Math<V>::abs(x + V(1)) + V(T(1e-5)));
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    using M = Math<V>;
    return M::where(x < V(0), M::sigmoid(V(alpha) * x),
                    V(beta) * M::log(M::abs(x + V(1)) + V(T(1e-5))) + V(0.5));
  }

 private:
  // sigmoid_grad for x < 0, beta / positive_denominator otherwise
  template <class V>
  C10_HOST_DEVICE V negative_side_or(V x, V positive_denominator) const {
    using M = Math<V>;
    const Quotient<V> q = sigmoid_grad(x, alpha, neg_alpha_log2e);
    const auto negative = x < V(0);
    return M::where(negative, q.numerator, V(beta)) /
           M::where(negative, q.denominator, positive_denominator);
  }
};

// QPseudoSpike (Herranz-Celotti & Rouat 2022), alpha > 1 is the paper's q:
//   g'(x) = (1 + 2|x|/(alpha-1))^(-alpha)
//   g(x)  = t for x < 0, 1 - t for x >= 0, t = (1 + 2|x|/(alpha-1))^(1-alpha) / 2
template <class T>
struct QPseudoSpike {
  using Args = std::tuple<double>;
  static void check(const char* op, double alpha) { check_greater_than_one(op, "alpha", alpha); }
  T k;
  Exponent<T> neg_alpha, one_minus_alpha;
  explicit QPseudoSpike(double a) : k(2 / (a - 1)), neg_alpha(-a), one_minus_alpha(1 - a) {}

  template <class V>
  C10_HOST_DEVICE V grad(V x) const {
    using M = Math<V>;
    return M::pow(V(1) + V(k) * M::abs(x), neg_alpha);
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    using M = Math<V>;
    const V t = V(0.5) * M::pow(V(1) + V(k) * M::abs(x), one_minus_alpha);
    return M::where(x >= V(0), V(1) - t, t);
  }
};

// The table: X(op_name, Functor, "schema parameters with defaults").
// The defaults are the module classes' defaults (surrogate_ext/registry.py; a test checks).
#define SURROGATE_EXT_FOR_EACH_SURROGATE(X)                                              \
  X(piecewise_quadratic, PiecewiseQuadratic, "float alpha=1.0")                          \
  X(piecewise_exp, PiecewiseExp, "float alpha=1.0")                                      \
  X(sigmoid, Sigmoid, "float alpha=4.0")                                                 \
  X(soft_sign, SoftSign, "float alpha=2.0")                                              \
  X(atan, ATan, "float alpha=2.0")                                                       \
  X(nonzero_sign_log_abs, NonzeroSignLogAbs, "float alpha=1.0")                          \
  X(erf, Erf, "float alpha=2.0")                                                         \
  X(piecewise_leaky_relu, PiecewiseLeakyReLU, "float w=1.0, float c=0.01")               \
  X(squarewave_fourier_series, SquarewaveFourierSeries, "int n=2, float T_period=8.0")   \
  X(s2nn, S2NN, "float alpha=4.0, float beta=1.0")                                       \
  X(q_pseudo_spike, QPseudoSpike, "float alpha=2.0")

// ---------------------------------------------------------------------------------------------
// Which function of a surrogate a kernel evaluates. Kernels are templates over one of these.

template <class S, class V, class = void>
struct has_primitive_grad : std::false_type {};
template <class S, class V>
struct has_primitive_grad<S, V, std::void_t<decltype(std::declval<const S&>().primitive_grad(std::declval<V>()))>>
    : std::true_type {};

struct PrimitiveOf {
  template <class S, class V>
  static C10_HOST_DEVICE V apply(const S& s, V x) { return s.template primitive<V>(x); }
};
struct GradOf {
  template <class S, class V>
  static C10_HOST_DEVICE V apply(const S& s, V x) { return s.template grad<V>(x); }
};
struct PrimitiveGradOf {
  template <class S, class V>
  static C10_HOST_DEVICE V apply(const S& s, V x) {
    if constexpr (has_primitive_grad<S, V>::value) {
      return s.template primitive_grad<V>(x);
    } else {
      return s.template grad<V>(x);
    }
  }
};

// The heaviside step as a parameterless "surrogate": 1 where x >= 0, else 0 (NaN gives 0).
template <class T>
struct Heaviside {
  using Args = std::tuple<>;
  static void check(const char*) {}
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    return Math<V>::where(x >= V(0), V(1), V(0));
  }
};

}  // namespace surrogate_ext
