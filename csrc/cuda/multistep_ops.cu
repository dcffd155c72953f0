// CUDA kernels of the fused multi-step neurons (neuron.h): one thread per neuron runs its whole
// T-step recurrence (grid-stride over neurons, 64-bit indices; at step t the threads of a warp
// read and write consecutive addresses). Math in at::opmath_type<scalar_t>. The host side is
// NeuronOps (neuron_ops.h), shared with the CPU.
#include "elementwise.cuh"

#include <surrogate_ext/neuron_ops.h>

namespace surrogate_ext::cuda {
namespace {

template <class scalar_t, class T>
__global__ void multistep_forward_kernel(const ForwardArgs<scalar_t, T> a) {
  grid_stride<scalar_t>(a.N, [&](int64_t n) {
    T v = Lane<T>::load(a.v_init + n);
    for (int64_t t = 0; t < a.steps; ++t) forward_cell(a, t, n, v);
    Lane<T>::store(a.v + n, v);
  });
}

template <class scalar_t, class T, class S>
__global__ void multistep_backward_kernel(const BackwardArgs<scalar_t, T> a, const S surrogate) {
  grid_stride<scalar_t>(a.N, [&](int64_t n) {
    T carry = initial_carry<T>(a, n), grad_k(0);
    for (int64_t t = a.steps - 1; t >= 0; --t) backward_cell(a, surrogate, t, n, carry, grad_k);
    Lane<T>::store(a.grad_v_init + n, carry);
    if (a.grad_k_partial != nullptr) a.grad_k_partial[n] = grad_k;
  });
}

struct NeuronBackend {
  using Guard = c10::cuda::CUDAGuard;

  static at::Tensor total(const at::Tensor& partial) { return partial.sum(); }

  static at::Tensor new_sequence(const at::Tensor& like) {
    return at::empty(like.sizes(), like.options());
  }

  template <class scalar_t, class T>
  static void forward(const ForwardArgs<scalar_t, T>& a) {
    multistep_forward_kernel<<<grid_size(a.N), kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(a);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  }

  template <class scalar_t, class T, class S>
  static void backward(const BackwardArgs<scalar_t, T>& a, const S& surrogate) {
    multistep_backward_kernel<<<grid_size(a.N), kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
        a, surrogate);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  }
};

}  // namespace
}  // namespace surrogate_ext::cuda

TORCH_LIBRARY_IMPL(surrogate_ext, CUDA, m) {
  surrogate_ext::register_neuron_ops<surrogate_ext::cuda::NeuronBackend>(m);
}
