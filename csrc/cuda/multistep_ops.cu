// CUDA kernels of the fused multi-step neurons (neuron.h): one thread per neuron runs its whole
// T-step recurrence (grid-stride over neurons, 64-bit indices; at step t the threads of a warp
// read and write consecutive addresses). Math in at::opmath_type<scalar_t>.
#include "elementwise.cuh"

#include <surrogate_ext/neuron_ops.h>

#include <ATen/ops/sum.h>
#include <ATen/ops/zeros.h>

namespace surrogate_ext::cuda {
namespace {

template <class scalar_t, class T>
__global__ void multistep_forward_kernel(NeuronParams<T> p, int64_t steps, int64_t N,
                                         const scalar_t* __restrict__ x_seq,
                                         const scalar_t* __restrict__ v_init,
                                         scalar_t* __restrict__ spike_seq,
                                         scalar_t* __restrict__ v_seq, scalar_t* __restrict__ h_seq) {
  grid_stride<scalar_t>(N, [&](int64_t n) {
    multistep_forward_lane<T>(p, steps, N, n, x_seq, v_init, spike_seq, v_seq, h_seq);
  });
}

template <class scalar_t, class T, class S>
__global__ void multistep_backward_kernel(NeuronParams<T> p, S surrogate, int64_t steps, int64_t N,
                                          const scalar_t* grad_spike_seq,
                                          const scalar_t* grad_v_seq, const scalar_t* h_seq,
                                          const scalar_t* v_init, const scalar_t* v_seq,
                                          const scalar_t* x_seq, scalar_t* grad_x_seq,
                                          scalar_t* grad_v_init, T* grad_k_partial) {
  grid_stride<scalar_t>(N, [&](int64_t n) {
    multistep_backward_lane<T>(p, surrogate, steps, N, n, grad_spike_seq, grad_v_seq, h_seq,
                               v_init, v_seq, x_seq, grad_x_seq, grad_v_init, grad_k_partial);
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
    const c10::cuda::CUDAGuard guard(x_in.device());
    const at::Tensor x_seq = x_in.contiguous(), v_init = v_in.contiguous();
    at::Tensor spike_seq = at::empty(x_seq.sizes(), x_seq.options());
    at::Tensor v_seq = at::empty(x_seq.sizes(), x_seq.options());
    at::Tensor h_seq = at::empty(x_seq.sizes(), x_seq.options());
    const int64_t steps = x_seq.size(0), N = v_init.numel();
    if (x_seq.numel() == 0) return {spike_seq, v_seq, h_seq};
    const auto stream = c10::cuda::getCurrentCUDAStream();
    SURROGATE_EXT_DISPATCH_FLOATING(x_seq.scalar_type(), [&] {
      using opmath_t = at::opmath_type<scalar_t>;
      multistep_forward_kernel<scalar_t, opmath_t><<<grid_size(N), kThreads, 0, stream>>>(
          c.params<opmath_t>(), steps, N, x_seq.const_data_ptr<scalar_t>(),
          v_init.const_data_ptr<scalar_t>(), spike_seq.mutable_data_ptr<scalar_t>(),
          v_seq.mutable_data_ptr<scalar_t>(), h_seq.mutable_data_ptr<scalar_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
    return {spike_seq, v_seq, h_seq};
  }

  template <template <class> class S, class... A>
  static TensorTriple multistep_backward(const NeuronConfig& c, const at::Tensor& grad_spike_in,
                                         const at::Tensor& grad_v_in, const at::Tensor& h_in,
                                         const at::Tensor& v_init_in, const at::Tensor& v_seq_in,
                                         const at::Tensor& x_in, bool k_grad, A... a) {
    const c10::cuda::CUDAGuard guard(h_in.device());
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
      const auto stream = c10::cuda::getCurrentCUDAStream();
      SURROGATE_EXT_DISPATCH_FLOATING(h_seq.scalar_type(), [&] {
        using opmath_t = at::opmath_type<scalar_t>;
        multistep_backward_kernel<scalar_t, opmath_t, S<opmath_t>>
            <<<grid_size(N), kThreads, 0, stream>>>(
                c.params<opmath_t>(), S<opmath_t>(a...), steps, N,
                grad_spike_seq.const_data_ptr<scalar_t>(), ptr_or_null<scalar_t>(grad_v_seq),
                h_seq.const_data_ptr<scalar_t>(), v_init.const_data_ptr<scalar_t>(),
                ptr_or_null<scalar_t>(v_seq), ptr_or_null<scalar_t>(x_seq),
                grad_x_seq.mutable_data_ptr<scalar_t>(), grad_v_init.mutable_data_ptr<scalar_t>(),
                k_grad ? grad_k_partial.mutable_data_ptr<opmath_t>() : nullptr);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      });
    }
    at::Tensor grad_k = k_grad ? grad_k_partial.sum() : at::zeros({}, h_seq.options());
    return {grad_x_seq, grad_v_init, grad_k};
  }
};

}  // namespace
}  // namespace surrogate_ext::cuda

TORCH_LIBRARY_IMPL(surrogate_ext, CUDA, m) {
  surrogate_ext::register_neuron_ops<surrogate_ext::cuda::NeuronBackend>(m);
}
