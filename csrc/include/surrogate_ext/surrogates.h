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

// clamp(x, lo, hi) as torch.clamp: NaN stays NaN (both comparisons are false for it).
template <class V>
C10_HOST_DEVICE V clamp(V x, V lo, V hi) {
  return Math<V>::where(x < lo, lo, Math<V>::where(x > hi, hi, x));
}

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
  static void check(const char* op, double w, double c) {
    check_positive(op, "w", w);
    check_finite(op, "c", c);
  }
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
// The terms take cospi and sinpi of (2i-1) r, where r = f - 2 rint(f/2) is f = 2x/T reduced
// modulo 2, exactly (for |f| >= 1, f and 2 rint(f/2) are within a factor 2 of each other, so
// the subtraction is exact; below, r = f): cos(pi k f) = cos(pi k r) for integers k. The product
// k r is then rounded at |k r| <= 2n rather than at |k f|, which for a short period is thousands
// of times larger (T = 0.015, x = 0.68, n = 9 in float32: 4.5e-4 relative error otherwise).
// cospi and sinpi reduce exactly too (and 2x/T is exact for a power-of-two T such as 8).
template <class T>
struct SquarewaveFourierSeries {
  using Args = std::tuple<int64_t, double>;
  static void check(const char* op, int64_t n, double T_period) {
    check_at_least_one(op, "n", n);
    check_positive(op, "T_period", T_period);
  }
  int64_t n;
  T two_over_T, four_over_T, two_over_pi;
  SquarewaveFourierSeries(int64_t n_, double T_period)
      : n(n_), two_over_T(2 / T_period), four_over_T(4 / T_period),
        two_over_pi(2 / kPi) {}

  // 2x/T modulo 2, in [-1, 1]
  template <class V>
  C10_HOST_DEVICE V phase(V x) const {
    const V f = V(two_over_T) * x;  // omega x / pi
    return f - V(T(2)) * Math<V>::rint(f * V(T(0.5)));
  }
  template <class V>
  C10_HOST_DEVICE V grad(V x) const {
    using M = Math<V>;
    if (n < 2) return V(0);
    const V r = phase(x);
    V total = M::cospi(r);  // i = 1: the default n = 2 is this one term
    V k(T(3));              // 2i - 1
    for (int64_t i = 2; i < n; ++i, k = k + V(T(2))) total = total + M::cospi(k * r);
    return V(four_over_T) * total;
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    V total(0);
    const V r = phase(x);
    for (int64_t i = 1; i < n; ++i) {
      const T k = T(2 * i - 1);
      total = total + Math<V>::sinpi(V(k) * r) / V(k);
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
  static void check(const char* op, double alpha, double beta) {
    check_positive(op, "alpha", alpha);
    check_finite(op, "beta", beta);
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
    // x >= 0: log(|x + 1| + 1e-5) = log1p(x + 1e-5), without rounding 1 + x first
    return M::where(x < V(0), M::sigmoid(V(alpha) * x),
                    V(beta) * M::log1p(x + V(T(1e-5))) + V(0.5));
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
    return M::pow1p(V(k) * M::abs(x), neg_alpha);
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    using M = Math<V>;
    const V t = V(0.5) * M::pow1p(V(k) * M::abs(x), one_minus_alpha);
    return M::where(x >= V(0), V(1) - t, t);
  }
};

// SuperSpike as SpikingJelly 2.0 writes it: g'(x) = alpha / (1 + |x|)^2. SpikingJelly has no
// primitive; g(x) = alpha x / (1 + |x|) + 1/2 is the one whose derivative this is.
template <class T>
struct SuperSpike {
  using Args = std::tuple<double>;
  static void check(const char* op, double alpha) { check_positive(op, "alpha", alpha); }
  T alpha;
  explicit SuperSpike(double a) : alpha(a) {}

  template <class V>
  C10_HOST_DEVICE V grad(V x) const {
    const V d = V(1) + Math<V>::abs(x);
    return V(alpha) / (d * d);
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    return V(alpha) * x / (V(1) + Math<V>::abs(x)) + V(0.5);
  }
};

// LeakyKReLU (SpikingJelly 2.0): g'(x) = k for x >= 0, leak for x < 0;  g(x) = k x or leak x
template <class T>
struct LeakyKReLU {
  using Args = std::tuple<double, double>;
  static void check(const char* op, double leak, double k) {
    check_finite(op, "leak", leak);
    check_finite(op, "k", k);
  }
  T leak, k;
  LeakyKReLU(double leak_, double k_) : leak(leak_), k(k_) {}

  template <class V>
  C10_HOST_DEVICE V grad(V x) const {
    return Math<V>::where(x >= V(0), V(k), V(leak));
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    return Math<V>::where(x >= V(0), V(k) * x, V(leak) * x);
  }
};

// FakeNumericalGradient (SpikingJelly 2.0): g'(x) = min(sign(x) / x, alpha) = min(1/|x|, alpha),
// sign(0) = +1. Fix: SpikingJelly takes the sign from x >= 0, so x = -0.0 gives 1 / -0.0 = -inf;
// here both zeros give alpha. SpikingJelly has no primitive; g(x) = alpha x for |x| <= 1/alpha,
// sign(x) (1 + log(alpha |x|)) beyond, is the one whose derivative this is.
template <class T>
struct FakeNumericalGradient {
  using Args = std::tuple<double>;
  static void check(const char* op, double alpha) { check_positive(op, "alpha", alpha); }
  T alpha, inv_alpha;
  explicit FakeNumericalGradient(double a) : alpha(a), inv_alpha(1 / a) {}

  template <class V>
  C10_HOST_DEVICE V grad(V x) const {
    const V inv = V(1) / Math<V>::abs(x);  // +inf at both zeros; NaN stays NaN
    return Math<V>::where(inv > V(alpha), V(alpha), inv);
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    using M = Math<V>;
    const V x_abs = M::abs(x);
    const V tail = V(1) + M::log(V(alpha) * x_abs);
    return M::where(x_abs <= V(inv_alpha), V(alpha) * x, M::where(x >= V(0), tail, -tail));
  }
};

// LogTailedReLU (Cai et al. 2017; SpikingJelly 2.0):
//   g'(x) = alpha for x <= 0, 1 for 0 < x <= 1, 1/x for x > 1
//   g(x)  = alpha x for x <= 0, x for 0 < x <= 1, log(x) + 1 for x > 1
template <class T>
struct LogTailedReLU {
  using Args = std::tuple<double>;
  static void check(const char* op, double alpha) { check_finite(op, "alpha", alpha); }
  T alpha;
  explicit LogTailedReLU(double a) : alpha(a) {}

  template <class V>
  C10_HOST_DEVICE V grad(V x) const {
    using M = Math<V>;
    return M::where(x > V(1), V(1) / x, M::where(x <= V(0), V(alpha), V(1)));
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    using M = Math<V>;
    return M::where(x > V(1), M::log(x) + V(1), M::where(x > V(0), x, V(alpha) * x));
  }
};

// DeterministicPass, the straight-through estimator: g'(x) = 1, g(x) = x. Its stochastic forward
// (Bernoulli(g(x)) = Bernoulli(x)) is SpikingJelly 2.0's PoissonPass.
template <class T>
struct DeterministicPass {
  using Args = std::tuple<>;
  static void check(const char*) {}
  template <class V>
  C10_HOST_DEVICE V grad(V) const {
    return V(1);
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    return x;
  }
};

// Rect (SpikingJelly 2.0): g'(x) = alpha for |x| < 1/(2 alpha), else 0;  g(x) = clamp(alpha x + 1/2, 0, 1)
template <class T>
struct Rect {
  using Args = std::tuple<double>;
  static void check(const char* op, double alpha) { check_positive(op, "alpha", alpha); }
  T alpha, half_width;
  explicit Rect(double a) : alpha(a), half_width(0.5 / a) {}

  template <class V>
  C10_HOST_DEVICE V grad(V x) const {
    return Math<V>::where(Math<V>::abs(x) < V(half_width), V(alpha), V(0));
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    return clamp(V(alpha) * x + V(0.5), V(0), V(1));
  }
};

// Triangular (snnTorch): g'(x) = -threshold for x >= 0, +threshold for x < 0, as snnTorch 1.0
// codes it (a sign flip at 0, not a triangle);  g(x) = -threshold |x|
template <class T>
struct Triangular {
  using Args = std::tuple<double>;
  static void check(const char* op, double threshold) { check_finite(op, "threshold", threshold); }
  T threshold;
  explicit Triangular(double t) : threshold(t) {}

  template <class V>
  C10_HOST_DEVICE V grad(V x) const {
    return Math<V>::where(x >= V(0), V(-threshold), V(threshold));
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    return Math<V>::where(x >= V(0), V(-threshold) * x, V(threshold) * x);
  }
};

// SpikeRateEscape (snnTorch; Gerstner's escape noise): g'(x) = slope exp(-beta |x - 1|), peak at 1
//   g(x) = slope/beta e for x < 1;  2 slope/beta - slope/beta e for x >= 1;  e = exp(-beta |x - 1|)
template <class T>
struct SpikeRateEscape {
  using Args = std::tuple<double, double>;
  static void check(const char* op, double beta, double slope) {
    check_positive(op, "beta", beta);
    check_positive(op, "slope", slope);
  }
  T beta, slope, neg_beta_log2e, slope_over_beta;
  SpikeRateEscape(double b, double s)
      : beta(b), slope(s), neg_beta_log2e(-b * kLog2E), slope_over_beta(s / b) {}

  template <class V>
  C10_HOST_DEVICE V grad(V x) const {
    using M = Math<V>;
    return V(slope) * M::exp2_nonpositive(V(neg_beta_log2e) * M::abs(x - V(1)));
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    using M = Math<V>;
    const V u = x - V(1);
    const V e = V(slope_over_beta) * M::exp(V(-beta) * M::abs(u));
    return M::where(u < V(0), e, V(2) * V(slope_over_beta) - e);
  }
};

// SparseFastSigmoid (snnTorch's SFS; Perez-Nieves & Goodman 2021): the fast sigmoid's gradient
// above B only: g'(x) = 1 / (slope |x| + 1)^2 for x > B, else 0;  g(x) = F(x) - F(B) for x > B,
// else 0, with F(x) = x / (1 + slope |x|)
template <class T>
struct SparseFastSigmoid {
  using Args = std::tuple<double, double>;
  static void check(const char* op, double slope, double B) {
    check_positive(op, "slope", slope);
    check_finite(op, "B", B);
  }
  T slope, B, F_B;
  SparseFastSigmoid(double s, double b) : slope(s), B(b), F_B(b / (1 + s * (b < 0 ? -b : b))) {}

  template <class V>
  C10_HOST_DEVICE V grad(V x) const {
    const V d = V(slope) * Math<V>::abs(x) + V(1);
    return Math<V>::where(x > V(B), V(1) / (d * d), V(0));
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    const V F = x / (V(1) + V(slope) * Math<V>::abs(x));
    return Math<V>::where(x > V(B), F - V(F_B), V(0));
  }
};

// LeakySpikeOperator (snnTorch's LSO, and its heaviside() with slope 0): the spike's own gradient,
// leaking below the threshold: g'(x) = 1 for x > 0, slope for x <= 0 (snnTorch's gradient is
// out + slope (1 - out), out = x > 0);  g(x) = x for x > 0, slope x for x <= 0
template <class T>
struct LeakySpikeOperator {
  using Args = std::tuple<double>;
  static void check(const char* op, double slope) { check_finite(op, "slope", slope); }
  T slope;
  explicit LeakySpikeOperator(double s) : slope(s) {}

  template <class V>
  C10_HOST_DEVICE V grad(V x) const {
    return Math<V>::where(x > V(0), V(1), V(slope));
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    return Math<V>::where(x > V(0), x, V(slope) * x);
  }
};

// HeaviCirc (Norse's circ): g(x) = 1/2 + x / (2 sqrt(x^2 + alpha^2));
//   g'(x) = alpha^2 / (2 (x^2 + alpha^2)^(3/2)). Norse's backward is 2 alpha times this.
template <class T>
struct HeaviCirc {
  using Args = std::tuple<double>;
  static void check(const char* op, double alpha) { check_positive(op, "alpha", alpha); }
  T alpha, alpha_sq, half_alpha_sq;
  explicit HeaviCirc(double a) : alpha(a), alpha_sq(a * a), half_alpha_sq(a * a / 2) {}

  template <class V>
  C10_HOST_DEVICE V grad(V x) const {
    const V q = V(1) / (x * x + V(alpha_sq));  // 0 once x^2 overflows, where g' is below any float
    return V(half_alpha_sq) * q * Math<V>::sqrt(q);
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    // x / sqrt(x^2 + alpha^2) with both terms divided by max(|x|, alpha), so that nothing
    // overflows: u / sqrt(u^2 + a^2) with u = sign(x), a = alpha/|x| beyond alpha (+-inf gives
    // +-1 and 0), u = x/alpha, a = 1 inside
    using M = Math<V>;
    const auto outside = M::abs(x) > V(alpha);
    const V u = M::where(outside, M::where(x > V(0), V(1), V(-1)), x / V(alpha));
    const V a = M::where(outside, V(alpha) / M::abs(x), V(1));
    return V(0.5) + V(0.5) * u / M::sqrt(u * u + a * a);
  }
};

// ---------------------------------------------------------------------------------------------
// Surrogates whose spiking forward is not the heaviside step: they define spike(x).

// MultiLevelSpikeCount (SpikingJelly 2.0): spike(x) = round(clamp(x, 0, max_spike_count)) (ties to
// even, as torch.round); g'(x) = 1 for grad_min <= x <= grad_max, else 0 (a rectangular
// straight-through window); g(x) = clamp(x, 0, max_spike_count), whose exact derivative is 1 on
// [0, max_spike_count] (primitive_grad).
template <class T>
struct MultiLevelSpikeCount {
  using Args = std::tuple<int64_t, double, double>;
  static void check(const char* op, int64_t max_spike_count, double grad_min, double grad_max) {
    check_at_least_one(op, "max_spike_count", max_spike_count);
    check_window(op, grad_min, grad_max);
  }
  T max_count, grad_min, grad_max;
  MultiLevelSpikeCount(int64_t m, double lo, double hi) : max_count(T(m)), grad_min(lo), grad_max(hi) {}

  template <class V>
  C10_HOST_DEVICE V spike(V x) const {
    return Math<V>::rint(primitive(x));
  }
  template <class V>
  C10_HOST_DEVICE V grad(V x) const {
    return Math<V>::where((x >= V(grad_min)) & (x <= V(grad_max)), V(1), V(0));
  }
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    return clamp(x, V(0), V(max_count));
  }
  template <class V>
  C10_HOST_DEVICE V primitive_grad(V x) const {
    return Math<V>::where((x >= V(0)) & (x <= V(max_count)), V(1), V(0));
  }
};

// The table. X(op_name, Functor, ", schema parameters with defaults"), the parameter list empty or
// starting with a comma. The defaults are the registry's (surrogate_ext/registry.py; a test checks).
// SURROGATE_EXT_FOR_EACH_THRESHOLD_SURROGATE: the spiking forward is heaviside(x) (x >= 0, or
// x > 0 with strict); these also get the fused multi-step neuron operators.
// SURROGATE_EXT_FOR_EACH_OTHER_SURROGATE: the functor defines spike(x).
#define SURROGATE_EXT_FOR_EACH_THRESHOLD_SURROGATE(X)                                    \
  X(piecewise_quadratic, PiecewiseQuadratic, ", float alpha=1.0")                        \
  X(piecewise_exp, PiecewiseExp, ", float alpha=1.0")                                    \
  X(sigmoid, Sigmoid, ", float alpha=4.0")                                               \
  X(soft_sign, SoftSign, ", float alpha=2.0")                                            \
  X(atan, ATan, ", float alpha=2.0")                                                     \
  X(nonzero_sign_log_abs, NonzeroSignLogAbs, ", float alpha=1.0")                        \
  X(erf, Erf, ", float alpha=2.0")                                                       \
  X(piecewise_leaky_relu, PiecewiseLeakyReLU, ", float w=1.0, float c=0.01")             \
  X(squarewave_fourier_series, SquarewaveFourierSeries, ", int n=2, float T_period=8.0") \
  X(s2nn, S2NN, ", float alpha=4.0, float beta=1.0")                                     \
  X(q_pseudo_spike, QPseudoSpike, ", float alpha=2.0")                                   \
  X(super_spike, SuperSpike, ", float alpha=1.0")                                        \
  X(leaky_k_relu, LeakyKReLU, ", float leak=0.0, float k=1.0")                           \
  X(fake_numerical_gradient, FakeNumericalGradient, ", float alpha=0.3")                 \
  X(log_tailed_relu, LogTailedReLU, ", float alpha=0.0")                                 \
  X(deterministic_pass, DeterministicPass, "")                                           \
  X(rect, Rect, ", float alpha=1.0")                                                     \
  X(triangular, Triangular, ", float threshold=1.0")                                     \
  X(spike_rate_escape, SpikeRateEscape, ", float beta=1.0, float slope=25.0")            \
  X(sparse_fast_sigmoid, SparseFastSigmoid, ", float slope=25.0, float B=1.0")           \
  X(leaky_spike_operator, LeakySpikeOperator, ", float slope=0.1")                       \
  X(heavi_circ, HeaviCirc, ", float alpha=1.0")

#define SURROGATE_EXT_FOR_EACH_OTHER_SURROGATE(X) \
  X(multi_level_spike_count, MultiLevelSpikeCount, \
    ", int max_spike_count, float grad_min, float grad_max")

#define SURROGATE_EXT_FOR_EACH_SURROGATE(X)     \
  SURROGATE_EXT_FOR_EACH_THRESHOLD_SURROGATE(X) \
  SURROGATE_EXT_FOR_EACH_OTHER_SURROGATE(X)

// ---------------------------------------------------------------------------------------------
// Which function of a surrogate a kernel evaluates. Kernels are templates over one of these.

template <class S, class V, class = void>
struct has_primitive_grad : std::false_type {};
template <class S, class V>
struct has_primitive_grad<S, V, std::void_t<decltype(std::declval<const S&>().primitive_grad(std::declval<V>()))>>
    : std::true_type {};

template <class S, class V, class = void>
struct has_spike : std::false_type {};
template <class S, class V>
struct has_spike<S, V, std::void_t<decltype(std::declval<const S&>().spike(std::declval<V>()))>>
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
  static C10_HOST_DEVICE V apply(const S& s, V x) { return s.template primitive_grad<V>(x); }
};
struct SpikeOf {
  template <class S, class V>
  static C10_HOST_DEVICE V apply(const S& s, V x) { return s.template spike<V>(x); }
};

// The heaviside step as a parameterless "surrogate": 1 where x >= 0 (x > 0 when strict), else 0;
// NaN gives 0.
template <class T>
struct Heaviside {
  bool strict;
  explicit C10_HOST_DEVICE Heaviside(bool strict_ = false) : strict(strict_) {}
  template <class V>
  C10_HOST_DEVICE V primitive(V x) const {
    using M = Math<V>;
    return strict ? M::where(x > V(0), V(1), V(0)) : M::where(x >= V(0), V(1), V(0));
  }
};

// A surrogate whose gradient is multiplied by a constant, the operators' grad_scale: a peer whose
// gradient is a multiple of one of ours (snnTorch's fast_sigmoid(slope) is 2/slope SoftSign(slope),
// Norse's heavi_erfc(k) is 2/k Erf(k), ...) runs our functor. The backward kernels always evaluate
// ScaledBy<S> (scale 1 by default; x * 1 is exact), so a scale costs no second instantiation.
template <template <class> class S>
struct ScaledBy {
  template <class T>
  struct Functor {
    S<T> inner;
    T scale;
    template <class... A>
    explicit Functor(double scale_, A... a) : inner(a...), scale(scale_) {}
    template <class V>
    C10_HOST_DEVICE V grad(V x) const {
      return inner.template grad<V>(x) * V(scale);
    }
  };
};

}  // namespace surrogate_ext
