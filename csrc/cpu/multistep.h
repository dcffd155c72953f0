#pragma once
// CPU kernels of the fused multi-step neurons (neuron.h): blocks of neurons are split across
// threads with at::parallel_for; each block runs the T-step recurrence row by row, in SIMD vectors
// (float32/float64; a scalar loop for the tail and for the half types, which compute in float and
// round h and v to their storage type at each step).
//
// Compiled once per CPU capability, like elementwise.h: everything is in namespace CPU_CAPABILITY.

#include "vec_math.h"

#include <surrogate_ext/dispatch.h>
#include <surrogate_ext/neuron_ops.h>

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/sum.h>
#include <ATen/ops/zeros.h>

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
// walk down the T rows would touch T pages per vector and defeat the prefetchers).
constexpr int64_t kBlock = 512;

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
  if constexpr (std::is_same_v<scalar_t, opmath_t>) {
    using Vec = at::vec::Vectorized<scalar_t>;
    const int64_t vectors = (hi - lo) / Vec::size();
    if (vectors > 0) rows(Vec(), lo, vectors);
    tail = lo + vectors * Vec::size();
  }
  if (tail < hi) rows(opmath_t(), tail, hi - tail);
}

template <class V, class scalar_t, class T>
void forward_rows(const NeuronParams<T>& p, int64_t steps, int64_t N, int64_t first, int64_t lanes,
                  const scalar_t* x, const scalar_t* v0, scalar_t* s, scalar_t* v, scalar_t* h) {
  using L = Lane<V>;
  constexpr int64_t w = width<V>();
  V state[kBlock / w];
  for (int64_t j = 0; j < lanes; ++j) state[j] = L::load(v0 + first + j * w);
  for (int64_t t = 0; t < steps; ++t) {
    const int64_t row = t * N + first;
    for (int64_t j = 0; j < lanes; ++j) {
      const int64_t i = row + j * w;
      V hv, sv;
      forward_step<scalar_t>(p, state[j], L::load(x + i), hv, sv);
      L::store(h + i, hv);
      L::store(s + i, sv);
      L::store(v + i, state[j]);
    }
  }
}

template <class V, class S, class scalar_t, class T>
void backward_rows(const NeuronParams<T>& p, const S& surrogate, int64_t steps, int64_t N,
                   int64_t first, int64_t lanes, const scalar_t* gs, const scalar_t* gv,
                   const scalar_t* h, const scalar_t* v0, const scalar_t* v, const scalar_t* x,
                   scalar_t* gx, scalar_t* gv0, T* gk) {
  using L = Lane<V>;
  constexpr int64_t w = width<V>();
  const V dh_dx(p.dh_dx()), dh_dv(p.dh_dv());
  V carry[kBlock / w], grad_k[kBlock / w];
  for (int64_t j = 0; j < lanes; ++j) carry[j] = grad_k[j] = V(0);
  for (int64_t t = steps - 1; t >= 0; --t) {
    const int64_t row = t * N + first;
    for (int64_t j = 0; j < lanes; ++j) {
      const int64_t i = row + j * w;
      const V g = gv != nullptr ? carry[j] + L::load(gv + i) : carry[j];
      const V dh = backward_step(p, surrogate, L::load(h + i), L::load(gs + i), g);
      L::store(gx + i, dh * dh_dx);
      carry[j] = dh * dh_dv;
      if (gk != nullptr) {
        const V v_prev = t > 0 ? L::load(v + i - N) : L::load(v0 + first + j * w);
        grad_k[j] = grad_k[j] + dh * p.dh_dk(v_prev, x != nullptr ? L::load(x + i) : V(0));
      }
    }
  }
  for (int64_t j = 0; j < lanes; ++j) {
    L::store(gv0 + first + j * w, carry[j]);
    if (gk != nullptr) L::store(gk + first + j * w, grad_k[j]);
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

inline at::Tensor new_sequence(const at::Tensor& like) {
  at::Tensor t = at::empty(like.sizes(), like.options());
  advise_huge_pages(t);
  return t;
}

template <class T>
const T* ptr_or_null(const at::Tensor& t) {
  return t.defined() ? t.const_data_ptr<T>() : nullptr;
}

struct NeuronBackend {
  template <template <class> class S, class... A>
  static TensorTriple multistep_forward(const NeuronConfig& c, const at::Tensor& x_in,
                                        const at::Tensor& v_in, A... a) {
    const at::Tensor x_seq = x_in.contiguous(), v_init = v_in.contiguous();
    at::Tensor spike_seq = new_sequence(x_seq), v_seq = new_sequence(x_seq),
               h_seq = new_sequence(x_seq);
    const int64_t steps = x_seq.size(0), N = v_init.numel();
    if (x_seq.numel() == 0) return {spike_seq, v_seq, h_seq};
    SURROGATE_EXT_DISPATCH_FLOATING(x_seq.scalar_type(), [&] {
      using opmath_t = at::opmath_type<scalar_t>;
      const auto p = c.params<opmath_t>();
      const scalar_t* x = x_seq.const_data_ptr<scalar_t>();
      const scalar_t* v0 = v_init.const_data_ptr<scalar_t>();
      scalar_t* s = spike_seq.mutable_data_ptr<scalar_t>();
      scalar_t* v = v_seq.mutable_data_ptr<scalar_t>();
      scalar_t* h = h_seq.mutable_data_ptr<scalar_t>();
      for_each_block(N, steps, [&](int64_t lo, int64_t hi) {
        split_lanes<scalar_t>(lo, hi, [&](auto lane, int64_t first, int64_t lanes) {
          forward_rows<decltype(lane)>(p, steps, N, first, lanes, x, v0, s, v, h);
        });
      });
    });
    return {spike_seq, v_seq, h_seq};
  }

  template <template <class> class S, class... A>
  static TensorTriple multistep_backward(const NeuronConfig& c, const at::Tensor& grad_spike_in,
                                         const at::Tensor& grad_v_in, const at::Tensor& h_in,
                                         const at::Tensor& v_init_in, const at::Tensor& v_seq_in,
                                         const at::Tensor& x_in, bool k_grad, A... a) {
    const at::Tensor grad_spike_seq = grad_spike_in.contiguous(), h_seq = h_in.contiguous(),
                     v_init = v_init_in.contiguous();
    const at::Tensor grad_v_seq = grad_v_in.defined() ? grad_v_in.contiguous() : at::Tensor();
    const at::Tensor v_seq = k_grad ? v_seq_in.contiguous() : at::Tensor();
    const at::Tensor x_seq = x_in.defined() ? x_in.contiguous() : at::Tensor();
    at::Tensor grad_x_seq = new_sequence(h_seq);
    at::Tensor grad_v_init = at::empty(v_init.sizes(), v_init.options());
    const auto opmath_dtype = at::toOpMathType(h_seq.scalar_type());
    at::Tensor grad_k_partial =
        k_grad ? at::zeros(v_init.sizes(), h_seq.options().dtype(opmath_dtype)) : at::Tensor();
    const int64_t steps = h_seq.size(0), N = v_init.numel();
    if (N > 0 && steps == 0) grad_v_init.zero_();
    if (N > 0 && steps > 0) {
      SURROGATE_EXT_DISPATCH_FLOATING(h_seq.scalar_type(), [&] {
        using opmath_t = at::opmath_type<scalar_t>;
        const auto p = c.params<opmath_t>();
        const S<opmath_t> surrogate(a...);
        const scalar_t* gs = grad_spike_seq.const_data_ptr<scalar_t>();
        const scalar_t* gv = ptr_or_null<scalar_t>(grad_v_seq);
        const scalar_t* h = h_seq.const_data_ptr<scalar_t>();
        const scalar_t* v0 = v_init.const_data_ptr<scalar_t>();
        const scalar_t* v = ptr_or_null<scalar_t>(v_seq);
        const scalar_t* x = ptr_or_null<scalar_t>(x_seq);
        scalar_t* gx = grad_x_seq.mutable_data_ptr<scalar_t>();
        scalar_t* gv0 = grad_v_init.mutable_data_ptr<scalar_t>();
        opmath_t* gk = k_grad ? grad_k_partial.mutable_data_ptr<opmath_t>() : nullptr;
        for_each_block(N, steps, [&](int64_t lo, int64_t hi) {
          split_lanes<scalar_t>(lo, hi, [&](auto lane, int64_t first, int64_t lanes) {
            backward_rows<decltype(lane)>(p, surrogate, steps, N, first, lanes, gs, gv, h, v0, v,
                                          x, gx, gv0, gk);
          });
        });
      });
    }
    at::Tensor grad_k = k_grad ? grad_k_partial.sum() : at::zeros({}, h_seq.options());
    return {grad_x_seq, grad_v_init, grad_k};
  }
};

}  // namespace surrogate_ext::cpu::CPU_CAPABILITY
