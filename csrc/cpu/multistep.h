#pragma once
// CPU kernels of the fused multi-step neurons (neuron.h): blocks of neurons are split across
// threads with at::parallel_for; each block runs the T-step recurrence row by row, in SIMD vectors
// (float32/float64; a scalar loop for the tail and for the half types, which compute in float and
// round h and v to their storage type at each step).
//
// Compiled once per CPU capability, like elementwise.h: everything is in namespace CPU_CAPABILITY.

#include "elementwise.h"
#include "vec_math.h"

#include <surrogate_ext/dispatch.h>
#include <surrogate_ext/neuron_ops.h>

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/scalar_tensor.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace surrogate_ext {
// A SIMD vector of neurons: contiguous loads and stores; float32/64 storage needs no rounding.
template <class T>
struct Lane<at::vec::Vectorized<T>> {
  using V = at::vec::Vectorized<T>;
  static V load(const T* p) { return V::loadu(p); }
  static void store(T* p, V v) { v.store(p); }
  template <class S>
  static V round(V v) {
    static_assert(std::is_same_v<S, T>);
    return v;
  }
};
}  // namespace surrogate_ext

namespace surrogate_ext::cpu::CPU_CAPABILITY {

// Neurons are processed in blocks of kBlock: a block's state (v in the forward; the carried
// gradient and the k partial sums in the backward) stays in L1 while the block walks the T steps
// one row at a time, so every tensor is read and written in contiguous runs (a neuron-at-a-time
// walk down the T rows would touch T pages per vector and defeat the prefetchers). 2048 neurons
// (8 KiB of each float32 row per run; the block's state 8-32 KiB, in L1 or L2) measured about 10 %
// faster than 512 and 1024 at T = 16, 2^16 and 2^20 neurons, float32 and float64, 1 and 2
// threads (separate processes alternating, medians of 25 calls; docs/performance.md).
constexpr int64_t kBlock = 2048;

template <class V>
constexpr int64_t width() {
  if constexpr (std::is_arithmetic_v<V>) {
    return 1;
  } else {
    return V::size();
  }
}

// Calls block(lo, hi) for blocks of neurons covering [0, N), in parallel.
template <class Block>
void for_each_block(int64_t N, int64_t steps, Block block) {
  const int64_t blocks = (N + kBlock - 1) / kBlock;
  const int64_t grain = std::max<int64_t>(1, 32768 / (kBlock * std::max<int64_t>(steps, 1)));
  at::parallel_for(0, blocks, grain, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) block(b * kBlock, std::min(N, (b + 1) * kBlock));
  });
}

// Splits [lo, hi) into SIMD vectors (float32/float64) and a scalar tail and calls
// rows(V{}, first, lanes) for each part; lanes <= kBlock / width<V>().
template <class scalar_t, class Rows>
void split_lanes(int64_t lo, int64_t hi, Rows rows) {
  using opmath_t = at::opmath_type<scalar_t>;
  int64_t tail = lo;
  if constexpr (kVectorize && std::is_same_v<scalar_t, opmath_t>) {
    using Vec = at::vec::Vectorized<scalar_t>;
    const int64_t vectors = (hi - lo) / Vec::size();
    if (vectors > 0) rows(Vec(), lo, vectors);
    tail = lo + vectors * Vec::size();
  }
  if (tail < hi) rows(opmath_t(), tail, hi - tail);
}

// A block walks each row in a run of kBlock neurons (8 KiB of float32), and the next row starts N
// elements further on, so the hardware prefetchers have to find every row afresh. While a block
// walks row t, its SIMD loop asks for the cache lines of the rows the next step reads and writes,
// one prefetch per 64 bytes (a hint: the results do not change). LIF with ATan, float32, T = 16,
// prefetching on and off alternating in one process: 2^16 neurons, forward 0.81-0.91 and backward
// 0.87-0.99 of the time without; 2^20, 0.92-1.03 (docs/performance.md). The half types' scalar
// loop, bound by its conversions, does not prefetch (it was 1-3.5 % slower with it).
template <class V, class scalar_t>
constexpr bool starts_line(int64_t j) {  // lane j starts a 64-byte line: it prefetches
  if constexpr (std::is_arithmetic_v<V>) {
    return false;
  } else {
    return j % std::max<int64_t>(1, 64 / (width<V>() * int64_t(sizeof(scalar_t)))) == 0;
  }
}

template <bool for_write = false, class scalar_t>
inline void prefetch(const scalar_t* p) {
#if defined(__GNUC__)
  __builtin_prefetch(p, for_write);
#endif
}

// The lanes first, first + w, ... (lanes of them) walk the T steps one row at a time.
template <class V, class scalar_t, class T>
void forward_rows(const ForwardArgs<scalar_t, T> a, int64_t first, int64_t lanes) {
  constexpr int64_t w = width<V>();
  V v[kBlock / w];
  for (int64_t j = 0; j < lanes; ++j) v[j] = Lane<V>::load(a.v_init + first + j * w);
  for (int64_t t = 0; t < a.steps; ++t) {
    const int64_t next = std::min(t + 1, a.steps - 1) * a.N + first;
    for (int64_t j = 0; j < lanes; ++j) {
      if (starts_line<V, scalar_t>(j)) {
        prefetch(a.x_seq + next + j * w);
        prefetch<true>(a.spike_seq + next + j * w);
        prefetch<true>(a.v_seq + next + j * w);
      }
      forward_cell(a, t, first + j * w, v[j]);
    }
  }
  for (int64_t j = 0; j < lanes; ++j) Lane<V>::store(a.v + first + j * w, v[j]);
}

template <class V, class S, class scalar_t, class T>
void backward_rows(const BackwardArgs<scalar_t, T> a, const S surrogate, int64_t first,
                   int64_t lanes) {
  using L = Lane<V>;
  constexpr int64_t w = width<V>();
  V carry[kBlock / w], grad_k[kBlock / w];
  for (int64_t j = 0; j < lanes; ++j) {
    carry[j] = initial_carry<V>(a, first + j * w);
    grad_k[j] = V(0);
  }
  for (int64_t t = a.steps - 1; t >= 0; --t) {
    // the rows step t - 1 reads (x, grad_spike and grad_v_seq at t - 1, v_seq at t - 2) and
    // writes (grad_x at t - 1)
    const int64_t next = std::max<int64_t>(t - 1, 0) * a.N + first;
    const int64_t next_v = std::max<int64_t>(t - 2, 0) * a.N + first;
    for (int64_t j = 0; j < lanes; ++j) {
      if (starts_line<V, scalar_t>(j)) {
        prefetch(a.x_seq + next + j * w);
        prefetch(a.grad_spike_seq + next + j * w);
        prefetch(a.v_seq + next_v + j * w);
        if (a.grad_v_seq != nullptr) prefetch(a.grad_v_seq + next + j * w);
        prefetch<true>(a.grad_x_seq + next + j * w);
      }
      backward_cell(a, surrogate, t, first + j * w, carry[j], grad_k[j]);
    }
  }
  for (int64_t j = 0; j < lanes; ++j) {
    L::store(a.grad_v_init + first + j * w, carry[j]);
    if (a.grad_k_partial != nullptr) L::store(a.grad_k_partial + first + j * w, grad_k[j]);
  }
}

// A new [T, N] output is tens of MiB that glibc maps fresh on every call, so its first touch costs
// a page fault per 4 KiB page: most of the time of a forward+backward. Asking for transparent huge
// pages (a hint; PyTorch's own THP_MEM_ALLOC_ENABLE=1 does it for every large allocation) cuts
// that by up to 512x where the kernel allows it (THP "madvise" or "always").
inline void advise_huge_pages(const at::Tensor& t) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t(2) << 20;
  const uintptr_t begin = reinterpret_cast<uintptr_t>(t.data_ptr());
  const uintptr_t lo = (begin + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t hi = (begin + t.nbytes()) & ~(kHuge - 1);
  if (hi >= lo + 2 * kHuge) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
#endif
}

struct NeuronBackend {
  struct Guard {
    explicit Guard(const at::Device&) {}
  };

  // A serial sum in double, in neuron order: the same bits whatever the thread count (at::sum
  // splits the work by thread, so its rounding would depend on torch.set_num_threads).
  static at::Tensor total(const at::Tensor& partial) {
    double sum = 0;
    SURROGATE_EXT_DISPATCH_FLOATING(partial.scalar_type(), [&] {
      const scalar_t* p = partial.const_data_ptr<scalar_t>();
      for (int64_t i = 0, n = partial.numel(); i < n; ++i) sum += static_cast<double>(p[i]);
    });
    return at::scalar_tensor(sum, partial.options());
  }

  static at::Tensor new_sequence(const at::Tensor& like) {
    at::Tensor t = at::empty(like.sizes(), like.options());
    advise_huge_pages(t);
    return t;
  }

  template <class scalar_t, class T>
  static void forward(const ForwardArgs<scalar_t, T>& a) {
    for_each_block(a.N, a.steps, [&](int64_t lo, int64_t hi) {
      split_lanes<scalar_t>(lo, hi, [&](auto lane, int64_t first, int64_t lanes) {
        forward_rows<decltype(lane)>(a, first, lanes);
      });
    });
  }

  template <class scalar_t, class T, class S>
  static void backward(const BackwardArgs<scalar_t, T>& a, const S& surrogate) {
    for_each_block(a.N, a.steps, [&](int64_t lo, int64_t hi) {
      split_lanes<scalar_t>(lo, hi, [&](auto lane, int64_t first, int64_t lanes) {
        backward_rows<decltype(lane)>(a, surrogate, first, lanes);
      });
    });
  }
};

}  // namespace surrogate_ext::cpu::CPU_CAPABILITY
