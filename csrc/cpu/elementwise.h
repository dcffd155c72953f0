#pragma once
// CPU elementwise maps over any shape and strides (TensorIterator), multithreaded with
// at::parallel_for (TensorIterator::for_each), math in at::opmath_type<scalar_t>.
// Contiguous runs (and a broadcast grad_output, stride 0) take a SIMD path: at::vec vectors of
// the opmath type, half types loaded, converted to float, computed and converted back in vectors.
// Operands too large for a cache are streamed with software prefetch (see Streaming). Other
// strides take a scalar loop over the same functors.
// The output is always a new contiguous tensor shaped like x, as the fake kernels declare.
//
// This header is compiled once per CPU capability (see capability_avx2.h): everything here is in
// namespace CPU_CAPABILITY.

#include "have_avx2.h"
#include "vec_math.h"

#include <surrogate_ext/dispatch.h>

#include <ATen/TensorIterator.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>

#include <algorithm>
#include <type_traits>

namespace surrogate_ext::cpu::CPU_CAPABILITY {

// The portable build of an x86-64 library serves only CPUs without AVX2/FMA, a fallback: it runs
// the scalar loop, which compiles in a fraction of the time of at::vec's emulated vectors. Where
// the portable build is the only one (other architectures), it keeps at::vec (NEON on ARM).
#if defined(SURROGATE_EXT_HAVE_AVX2) && !defined(CPU_CAPABILITY_AVX2)
constexpr bool kVectorize = false;
#else
constexpr bool kVectorize = true;
#endif

template <class scalar_t>
constexpr bool is_reduced_float = std::is_same_v<scalar_t, c10::Half> || std::is_same_v<scalar_t, c10::BFloat16>;

// The inputs of simd_map: a contiguous run, or one value broadcast (stride 0, e.g. the
// grad_output of .sum().backward()). Each is a type of its own so that the loop holds no test of
// the stride, and the pointers are locals the stores cannot alias.
template <class scalar_t>
struct Contiguous {
  const scalar_t* __restrict p;
  at::vec::Vectorized<scalar_t> operator()(int64_t i, int64_t count) const {
    return at::vec::Vectorized<scalar_t>::loadu(p + i, count);
  }
  void prefetch(int64_t i) const { __builtin_prefetch(p + i, /*read*/ 0, /*keep*/ 3); }
};
template <class scalar_t>
struct Broadcast {
  at::vec::Vectorized<scalar_t> value;
  at::vec::Vectorized<scalar_t> operator()(int64_t, int64_t) const { return value; }
  void prefetch(int64_t) const {}
};

// Software prefetch, for a map whose operands (inputs and output together) take at least
// kFromBytes: they stream from memory, and a heavy functor's vectors fill the out-of-order window
// before the loads ahead are issued, so its loop waits on memory that a cheap one (torch.mul)
// overlaps. Each input is prefetched kAheadBytes ahead, once per 64-byte line. Smaller operands
// stay in cache, where the prefetches would only add instructions (about 10 % on a cheap map of
// 2^20 floats, measured).
struct Streaming {
  static constexpr int64_t kFromBytes = int64_t(16) << 20;
  static constexpr int64_t kAheadBytes = 2048;
  static constexpr int64_t kLineBytes = 64;
};

// y[i] = compute(inputs[i]...) for n elements, a vector of the storage type at a time; compute
// takes and returns vectors of the opmath type.
// flatten inlines the whole call tree (functor, Math, at::vec) into the loop: with this many
// instantiations in a unit GCC otherwise keeps a functor's method out of line, a call per
// vector that also rebuilds every constant of its polynomials.
template <class scalar_t, class Compute, class... Inputs>
__attribute__((flatten)) inline void simd_map(scalar_t* __restrict y, int64_t n, bool prefetch,
                                              Compute compute, Inputs... inputs) {
  using Vec = at::vec::Vectorized<scalar_t>;
  constexpr int64_t step = Vec::size();
  auto body = [&](int64_t i, int64_t count) {
    if constexpr (is_reduced_float<scalar_t>) {
      auto lo_hi = std::make_tuple(at::vec::convert_to_float<scalar_t>(inputs(i, count))...);
      auto lo = std::apply([&](auto... p) { return compute(std::get<0>(p)...); }, lo_hi);
      auto hi = std::apply([&](auto... p) { return compute(std::get<1>(p)...); }, lo_hi);
      at::vec::convert_from_float<scalar_t>(lo, hi).store(y + i, count);
    } else {
      compute(inputs(i, count)...).store(y + i, count);
    }
  };
  int64_t i = 0;
  if (prefetch) {
    constexpr int64_t line = std::max<int64_t>(step, Streaming::kLineBytes / sizeof(scalar_t));
    constexpr int64_t ahead = Streaming::kAheadBytes / sizeof(scalar_t);
    for (; i + line <= n; i += line) {
      (inputs.prefetch(i + ahead), ...);
      for (int64_t k = 0; k < line; k += step) body(i + k, step);
    }
  }
  for (; i + step <= n; i += step) body(i, step);
  if (i < n) body(i, n - i);
}

template <class scalar_t>
inline Contiguous<scalar_t> contiguous(const char* base) {
  return {reinterpret_cast<const scalar_t*>(base)};
}

template <class scalar_t>
inline bool streams(const at::TensorIteratorBase& iter) {
  return iter.numel() * iter.ntensors() * int64_t(sizeof(scalar_t)) >= Streaming::kFromBytes;
}

struct Backend {
  static at::Tensor empty_output(const at::Tensor& x) {
    return at::empty(x.sizes(), x.options(), at::MemoryFormat::Contiguous);
  }

  // y = Fn(s, x) with s = S<opmath>(a...)
  template <class Fn, template <class> class S, class... A>
  static at::Tensor map_unary(const at::Tensor& x, A... a) {
    at::Tensor y = empty_output(x);
    if (y.numel() == 0) return y;
    auto iter = at::TensorIteratorConfig().add_output(y).add_const_input(x).build();
    SURROGATE_EXT_DISPATCH_FLOATING(x.scalar_type(), [&] {
      using opmath_t = at::opmath_type<scalar_t>;
      const S<opmath_t> s(a...);
      [[maybe_unused]] const bool prefetch = streams<scalar_t>(iter);
      iter.for_each([&](char** data, const int64_t* strides, int64_t n) {
        constexpr int64_t size = sizeof(scalar_t);
        if constexpr (kVectorize) {
          if (strides[0] == size && strides[1] == size) {
            simd_map(reinterpret_cast<scalar_t*>(data[0]), n, prefetch,
                     [s](auto xv) { return Fn::apply(s, xv); }, contiguous<scalar_t>(data[1]));
            return;
          }
        }
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
      [[maybe_unused]] const bool prefetch = streams<scalar_t>(iter);
      iter.for_each([&](char** data, const int64_t* strides, int64_t n) {
        constexpr int64_t size = sizeof(scalar_t);
        if constexpr (kVectorize) {
          if (strides[0] == size && (strides[1] == size || strides[1] == 0) && strides[2] == size) {
            auto* y = reinterpret_cast<scalar_t*>(data[0]);
            auto compute = [s](auto gv, auto xv) { return gv * Fn::apply(s, xv); };
            if (strides[1] == 0) {
              const auto g = *reinterpret_cast<const scalar_t*>(data[1]);
              simd_map(y, n, prefetch, compute, Broadcast<scalar_t>{g}, contiguous<scalar_t>(data[2]));
            } else {
              simd_map(y, n, prefetch, compute, contiguous<scalar_t>(data[1]), contiguous<scalar_t>(data[2]));
            }
            return;
          }
        }
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

}  // namespace surrogate_ext::cpu::CPU_CAPABILITY
