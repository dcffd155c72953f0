#pragma once
// CPU kernels of the fused multi-step neurons (neuron.h): neurons are split across threads with
// at::parallel_for; each thread runs the whole T-step recurrence of one SIMD vector of neurons
// at a time (float32/float64; a scalar loop for the tail and for the half types, which compute
// in float and round h and v to their storage type at each step).
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

#include <type_traits>

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

// Calls lane<V>(n) for every neuron n in [0, N), in SIMD vectors where the type allows.
template <class scalar_t, class LaneFn>
void for_each_lane(int64_t N, int64_t steps, LaneFn lane) {
  using opmath_t = at::opmath_type<scalar_t>;
  // about 32k element-steps per task
  const int64_t grain = std::max<int64_t>(64, 32768 / std::max<int64_t>(steps, 1));
  at::parallel_for(0, N, grain, [&](int64_t begin, int64_t end) {
    int64_t n = begin;
    if constexpr (std::is_same_v<scalar_t, opmath_t>) {
      using Vec = at::vec::Vectorized<scalar_t>;
      for (; n + Vec::size() <= end; n += Vec::size()) lane(Vec(), n);
    }
    for (; n < end; ++n) lane(opmath_t(), n);
  });
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
    at::Tensor spike_seq = at::empty(x_seq.sizes(), x_seq.options());
    at::Tensor v_seq = at::empty(x_seq.sizes(), x_seq.options());
    at::Tensor h_seq = at::empty(x_seq.sizes(), x_seq.options());
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
      for_each_lane<scalar_t>(N, steps, [&](auto lane, int64_t n) {
        using V = decltype(lane);
        multistep_forward_lane<V>(p, steps, N, n, x, v0, s, v, h);
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
    at::Tensor grad_x_seq = at::empty(h_seq.sizes(), h_seq.options());
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
        for_each_lane<scalar_t>(N, steps, [&](auto lane, int64_t n) {
          using V = decltype(lane);
          multistep_backward_lane<V>(p, surrogate, steps, N, n, gs, gv, h, v0, v, x, gx, gv0, gk);
        });
      });
    }
    at::Tensor grad_k = k_grad ? grad_k_partial.sum() : at::zeros({}, h_seq.options());
    return {grad_x_seq, grad_v_init, grad_k};
  }
};

}  // namespace surrogate_ext::cpu::CPU_CAPABILITY
