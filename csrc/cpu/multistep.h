#pragma once
// CPU kernels of the neuron engine (neuron.h, neurons.h): blocks of neurons are split across
// threads with at::parallel_for; each block runs the T-step recurrence row by row, in SIMD vectors
// (float32/float64; a scalar loop for the tail and for the half types, which compute in float and
// round h and the states to their storage type at each step). The backward evaluates the chosen
// surrogate's gradient a row of the block at a time, between a pass that computes u and the pass
// that runs the BPTT step: the family's kernels do not depend on the surrogate.
//
// Compiled once per CPU capability, like elementwise.h: everything is in namespace CPU_CAPABILITY.

#include "elementwise.h"
#include "vec_math.h"

#include <surrogate_ext/dispatch.h>
#include <surrogate_ext/neuron_ops.h>

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

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

// A block's per-neuron values that live across the steps (states, carries, parameter sums), in
// the opmath type: the SIMD lanes and the scalar tail of a row read and write them by index.
template <class T, int N>
struct BlockValues {
  T v[N > 0 ? N : 1][kBlock];
  template <class V>
  Values<V, N> load(int64_t j) const {
    Values<V, N> out;
    for (int k = 0; k < N; ++k) out[k] = Lane<V>::load(v[k] + j);
    return out;
  }
  template <class V>
  void store(int64_t j, const Values<V, N>& in) {
    for (int k = 0; k < N; ++k) Lane<V>::store(v[k] + j, in[k]);
  }
};

// The lanes first, first + w, ... (lanes of them) of a block starting at neuron lo walk row t.
// The row functions are flattened: every call below them (the cells, the family's and the
// surrogate's methods, at::vec) is inlined into the loop, as elementwise.h's simd_map is; with
// this many instantiations in a unit GCC otherwise keeps cells out of line, a call with its
// structs in memory per vector (the LIF backward measured 3x slower that way). They take the
// arguments by value: a local copy that no store through the tensors' pointers can alias, so the
// neuron's constants stay in registers instead of being reloaded after every store.
template <class V, class scalar_t, class F, class State>
__attribute__((flatten)) void forward_row(const ForwardArgs<scalar_t, F> a, int64_t t, int64_t lo,
                                          int64_t first, int64_t lanes, State& state) {
  constexpr int64_t w = width<V>();
  const int64_t next = std::min(t + 1, a.steps - 1) * a.N + first;
  for (int64_t j = 0; j < lanes; ++j) {
    const int64_t n = first + j * w;
    if (starts_line<V, scalar_t>(j)) {
      prefetch(a.x + next + j * w);
      prefetch<true>(a.spike + next + j * w);
      for (int k = 0; k < F::kStates; ++k) prefetch<true>(a.seq[k] + next + j * w);
    }
    Values<V, F::kStates> s = state.template load<V>(n - lo);
    forward_cell(a, t, n, s);
    state.store(n - lo, s);
  }
}

// Pass A of backward row t: h and u of each lane, into the block's buffers.
template <class V, class scalar_t, class F>
__attribute__((flatten)) void recharge_row(const BackwardArgs<scalar_t, F> a, int64_t t, int64_t lo,
                                           int64_t first, int64_t lanes, typename F::opmath* h,
                                           typename F::opmath* u) {
  constexpr int64_t w = width<V>();
  for (int64_t j = 0; j < lanes; ++j) {
    const int64_t n = first + j * w;
    const Charged<V> c = recharge<V>(a, t, n);
    Lane<V>::store(h + (n - lo), c.h);
    Lane<V>::store(u + (n - lo), c.u);
  }
}

// Pass B of backward row t: the BPTT step of each lane, with h, u and sg = g'(u) from the block's
// buffers.
template <class V, class scalar_t, class F, class Carry, class Sums>
__attribute__((flatten)) void backward_row(const BackwardArgs<scalar_t, F> a, int64_t t, int64_t lo,
                                           int64_t first, int64_t lanes,
                                           const typename F::opmath* h, const typename F::opmath* u,
                                           const typename F::opmath* sg, Carry& carry, Sums& sums) {
  constexpr int64_t w = width<V>();
  // the rows step t - 1 reads (x, grad_spike and grad_seq at t - 1, the states at t - 2) and
  // writes (grad_x at t - 1)
  const int64_t next = std::max<int64_t>(t - 1, 0) * a.N + first;
  const int64_t next_state = std::max<int64_t>(t - 2, 0) * a.N + first;
  for (int64_t j = 0; j < lanes; ++j) {
    const int64_t n = first + j * w;
    if (starts_line<V, scalar_t>(j)) {
      prefetch(a.x + next + j * w);
      prefetch(a.grad_spike + next + j * w);
      for (int k = 0; k < F::kStates; ++k) {
        if (a.seq[k] != nullptr) prefetch(a.seq[k] + next_state + j * w);
        if (a.grad_seq[k] != nullptr) prefetch(a.grad_seq[k] + next + j * w);
      }
      prefetch<true>(a.grad_x + next + j * w);
    }
    const int64_t b = n - lo;
    Values<V, F::kStates> c = carry.template load<V>(b);
    Values<V, F::kParams> p = sums.template load<V>(b);
    const Charged<V> hu{Lane<V>::load(h + b), Lane<V>::load(u + b)};
    backward_cell(a, t, n, hu, Lane<V>::load(sg + b), c, p);
    carry.store(b, c);
    sums.store(b, p);
  }
}

// The chosen surrogate's gradient over a row of a block, type-erased: the neuron kernels are
// compiled once per family, and this once per surrogate row (with_scaled_surrogate).
template <class T>
struct GradRow {
  static constexpr size_t kStateBytes = 128;
  void (*fn)(const void* functor, const T* u, T* out, int64_t n);
  alignas(16) unsigned char functor[kStateBytes];
  void operator()(const T* u, T* out, int64_t n) const { fn(functor, u, out, n); }
};

template <class T, class S>
__attribute__((flatten)) void grad_row(const void* functor, const T* u, T* out, int64_t n) {
  const S& s = *static_cast<const S*>(functor);
  int64_t i = 0;
  if constexpr (kVectorize) {
    using Vec = at::vec::Vectorized<T>;
    for (; i + Vec::size() <= n; i += Vec::size()) s.template grad<Vec>(Vec::loadu(u + i)).store(out + i);
  }
  for (; i < n; ++i) out[i] = s.template grad<T>(u[i]);
}

template <class T>
GradRow<T> make_grad_row(const SurrogateChoice& choice) {
  return with_scaled_surrogate<T>(choice, [](const auto& s) {
    using S = std::decay_t<decltype(s)>;
    static_assert(sizeof(S) <= GradRow<T>::kStateBytes && std::is_trivially_copyable_v<S>);
    GradRow<T> row;
    row.fn = &grad_row<T, S>;
    std::memcpy(row.functor, &s, sizeof(S));
    return row;
  });
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

  // Sums in double, serially in neuron order: the same bits whatever the thread count (at::sum
  // splits the work by thread, so its rounding would depend on torch.set_num_threads). Neurons
  // whose indices differ only along the dimensions `shape` broadcasts add into the same element.
  static at::Tensor total_to(const at::Tensor& partial, at::IntArrayRef shape) {
    const at::IntArrayRef neurons = partial.sizes();
    if (shape == neurons) return partial.to(at::kDouble);  // nothing to sum
    at::Tensor out = at::zeros(shape, partial.options().dtype(at::kDouble));
    if (out.numel() == 1) {  // one value: the same serial sum, without the index arithmetic
      SURROGATE_EXT_DISPATCH_FLOATING(partial.scalar_type(), [&] {
        const scalar_t* p = partial.const_data_ptr<scalar_t>();
        double total = 0;
        for (int64_t i = 0, n = partial.numel(); i < n; ++i) total += static_cast<double>(p[i]);
        *out.mutable_data_ptr<double>() = total;
      });
      return out;
    }
    const at::Tensor target = out.expand(neurons);  // stride 0 where `shape` broadcasts
    double* o = out.mutable_data_ptr<double>();
    const int64_t dims = static_cast<int64_t>(neurons.size());
    std::vector<int64_t> index(dims, 0);
    SURROGATE_EXT_DISPATCH_FLOATING(partial.scalar_type(), [&] {
      const scalar_t* p = partial.const_data_ptr<scalar_t>();
      int64_t offset = 0;
      for (int64_t i = 0, n = partial.numel(); i < n; ++i) {
        o[offset] += static_cast<double>(p[i]);
        for (int64_t d = dims - 1; d >= 0; --d) {  // the next index, in row-major order
          offset += target.stride(d);
          if (++index[d] < neurons[d]) break;
          offset -= target.stride(d) * neurons[d];
          index[d] = 0;
        }
      }
    });
    return out;
  }

  static at::Tensor new_sequence(const at::Tensor& like) {
    at::Tensor t = at::empty(like.sizes(), like.options());
    advise_huge_pages(t);
    return t;
  }

  template <class scalar_t, class F>
  static void forward(const ForwardArgs<scalar_t, F>& a) {
    using T = typename F::opmath;
    for_each_block(a.N, a.steps, [&](int64_t lo, int64_t hi) {
      // default-initialised (not zeroed: every value a block uses is written first)
      std::unique_ptr<BlockValues<T, F::kStates>> state(new BlockValues<T, F::kStates>);
      for (int k = 0; k < F::kStates; ++k) {
        for (int64_t n = lo; n < hi; ++n) state->v[k][n - lo] = static_cast<T>(a.init[k][n]);
      }
      for (int64_t t = 0; t < a.steps; ++t) {
        split_lanes<scalar_t>(lo, hi, [&](auto lane, int64_t first, int64_t lanes) {
          forward_row<decltype(lane)>(a, t, lo, first, lanes, *state);
        });
      }
      for (int k = 0; k < F::kStates; ++k) {
        if (a.last[k] == nullptr) continue;
        for (int64_t n = lo; n < hi; ++n) a.last[k][n] = static_cast<scalar_t>(state->v[k][n - lo]);
      }
    });
  }

  template <class scalar_t, class F>
  static void backward(const BackwardArgs<scalar_t, F>& a, const SurrogateChoice& choice) {
    using T = typename F::opmath;
    const GradRow<T> grad = make_grad_row<T>(choice);
    for_each_block(a.N, a.steps, [&](int64_t lo, int64_t hi) {
      struct Block {
        BlockValues<T, F::kStates> carry;
        BlockValues<T, F::kParams> sums;
        T h[kBlock], u[kBlock], sg[kBlock];
      };
      std::unique_ptr<Block> b(new Block);  // default-initialised: written before it is read
      // the carry and the sums start in SIMD vectors too: at T = 1 (a single step's backward)
      // these per-neuron passes are a large part of the call
      split_lanes<scalar_t>(lo, hi, [&](auto lane, int64_t first, int64_t lanes) {
        using V = decltype(lane);
        for (int64_t j = 0; j < lanes; ++j) {
          const int64_t n = first + j * width<V>();
          Values<V, F::kStates> c;
          initial_carry<V>(a, n, c);
          b->carry.store(n - lo, c);
          Values<V, F::kParams> zero;
          for (int k = 0; k < F::kParams; ++k) zero[k] = V(0);
          b->sums.store(n - lo, zero);
        }
      });
      for (int64_t t = a.steps - 1; t >= 0; --t) {
        split_lanes<scalar_t>(lo, hi, [&](auto lane, int64_t first, int64_t lanes) {
          recharge_row<decltype(lane)>(a, t, lo, first, lanes, b->h, b->u);
        });
        grad(b->u, b->sg, hi - lo);
        split_lanes<scalar_t>(lo, hi, [&](auto lane, int64_t first, int64_t lanes) {
          backward_row<decltype(lane)>(a, t, lo, first, lanes, b->h, b->u, b->sg, b->carry, b->sums);
        });
      }
      split_lanes<scalar_t>(lo, hi, [&](auto lane, int64_t first, int64_t lanes) {
        using V = decltype(lane);
        for (int64_t j = 0; j < lanes; ++j) {
          const int64_t n = first + j * width<V>();
          const Values<V, F::kStates> c = b->carry.template load<V>(n - lo);
          for (int k = 0; k < F::kStates; ++k) Lane<V>::store(a.grad_init[k] + n, c[k]);
          const Values<V, F::kParams> p = b->sums.template load<V>(n - lo);
          for (int k = 0; k < F::kParams; ++k) {
            if (a.grad_p[k] != nullptr) Lane<V>::store(a.grad_p[k] + n, p[k]);
          }
        }
      });
    });
  }
};

}  // namespace surrogate_ext::cpu::CPU_CAPABILITY
