#pragma once
// Inlined float exp2 and cos(pi x) for AVX2+FMA, for Math<Vectorized<float>> (vec_math.h). They
// replace at::vec's exp_u20 (plus a NaN blend) and Sleef's out-of-line cosf, whose latency chains
// bound the backwards of the exp- and cos-based surrogates. Float only: the double vectors keep
// Sleef.
// Coefficients: minimax (Remez) fits, constrained to give exp(0) = cos(0) = 1 exactly.

#include <immintrin.h>

namespace surrogate_ext::fast_math_avx2 {

// 2^f for f in [0, 1): 1 + f (c1 + f (c2 + f (c3 + f (c4 + f c5)))), relative error 8.3e-8,
// 1.9e-7 with rounding. Horner's form, one FMA per coefficient: the loops are bound by throughput,
// and the out-of-order window overlaps the chains of neighbouring vectors.
inline __m256 exp2_fraction(__m256 f) {
  __m256 p = _mm256_fmadd_ps(f, _mm256_set1_ps(0.0018671300808011488f), _mm256_set1_ps(0.009017030287287005f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(0.055799913143384915f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(0.24016445013702034f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(0.6931513118074075f));
  return _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.f));
}

// 2^t for t clamped to [-127, 128]; t = n + f, n = floor(t), f in [0, 1). 2^n is built in the
// exponent bits, (n + 127) << 23: n = -127 gives 0 (results below 2^-126 flush to zero), n = 128
// gives inf (t > 128). max/min return their second operand when either is NaN, so NaN passes
// through. For exp(x) = 2^(x log2(e)), rounding the product adds a relative error of 4e-8 |t|:
// 8e-7 at exp(-14), 5e-6 near the float limits.
inline __m256 exp2(__m256 t) {
  t = _mm256_min_ps(_mm256_set1_ps(128.f), _mm256_max_ps(_mm256_set1_ps(-127.f), t));
  const __m256 n = _mm256_floor_ps(t);
  const __m256 p = exp2_fraction(_mm256_sub_ps(t, n));
  const __m256i biased = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
  return _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(biased, 23)));
}

// 2^t for t <= 0, the gradients' exp (correct for t < 128; NaN passes through): 2^n is applied by
// adding n << 23 to the bits of p = 2^f in [1, 2), an integer add instead of exp2's bias and
// multiplication, and only the lower clamp is needed. t is clamped to >= -127: n = -127 leaves a
// zero exponent field, which reads as (p - 1) 2^-126, so results fall continuously to exactly 0
// at t = -127 (absolute error under 2^-127 there).
inline __m256 exp2_nonpositive(__m256 t) {
  t = _mm256_max_ps(_mm256_set1_ps(-127.f), t);
  const __m256 n = _mm256_floor_ps(t);
  const __m256 p = exp2_fraction(_mm256_sub_ps(t, n));
  const __m256i scale = _mm256_slli_epi32(_mm256_cvtps_epi32(n), 23);
  return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), scale));
}

// cos(pi x) = (-1)^q cos(pi r), q = round(x), r = x - q in [-1/2, 1/2], both exact (math.h's
// cospi_); cos(pi r) = 1 + z (c0 + c1 z + c2 z^2 + c3 z^3), z = r^2: the minimax fit of cos on
// [-pi/2, pi/2] with its variable scaled by pi, absolute error 1.9e-7 with rounding (measured at
// every float in [-4, 4]). q's parity is the low bit of its int32 conversion; past 2^31 that
// conversion gives 0x80000000 (even), and every float there is even. NaN and inf give NaN.
inline __m256 cospi(__m256 x) {
  const __m256 q = _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 r = _mm256_sub_ps(x, q);
  const __m256 z = _mm256_mul_ps(r, r);
  const __m256 z2 = _mm256_mul_ps(z, z);
  const __m256 p01 = _mm256_fmadd_ps(z, _mm256_set1_ps(4.058451341626955f),
                                     _mm256_set1_ps(-4.934795518135911f));
  const __m256 p23 = _mm256_fmadd_ps(z, _mm256_set1_ps(0.22008065540934818f),
                                     _mm256_set1_ps(-1.3320938660978956f));
  const __m256 c = _mm256_fmadd_ps(z, _mm256_fmadd_ps(z2, p23, p01), _mm256_set1_ps(1.f));
  const __m256i sign = _mm256_slli_epi32(_mm256_cvtps_epi32(q), 31);
  return _mm256_xor_ps(c, _mm256_castsi256_ps(sign));
}

}  // namespace surrogate_ext::fast_math_avx2
