// CUDA kernels of the neuron engine (neuron.h, neurons.h). The forward: one thread per neuron
// runs its whole T-step recurrence (grid-stride over neurons, 64-bit indices; at step t the
// threads of a warp read and write consecutive addresses). The backward, in three launches so that
// the family's kernels do not depend on the surrogate: u of every step and neuron (all independent,
// since they are recomputed from the saved states) into a [T, N] buffer of the opmath type; the
// chosen surrogate's gradient over that buffer, in place (a kernel per surrogate row); then the
// BPTT recurrence, a thread per neuron. Math in at::opmath_type<scalar_t>. The host side is
// NeuronOps (neuron_ops.h), shared with the CPU.
#include "elementwise.cuh"

#include <surrogate_ext/neuron_ops.h>

#include <ATen/ExpandUtils.h>

namespace surrogate_ext::cuda {
namespace {

template <class scalar_t, class F>
__global__ void neuron_forward_kernel(const ForwardArgs<scalar_t, F> a) {
  using T = typename F::opmath;
  grid_stride<scalar_t>(a.N, [&](int64_t n) {
    Values<T, F::kStates> state;
    for (int k = 0; k < F::kStates; ++k) state[k] = Lane<T>::load(a.init[k] + n);
    for (int64_t t = 0; t < a.steps; ++t) forward_cell(a, t, n, state);
    for (int k = 0; k < F::kStates; ++k) {
      if (a.last[k] != nullptr) Lane<T>::store(a.last[k] + n, state[k]);
    }
  });
}

template <class scalar_t, class F>
__global__ void neuron_fire_input_kernel(const BackwardArgs<scalar_t, F> a,
                                         typename F::opmath* __restrict__ u) {
  using T = typename F::opmath;
  grid_stride<scalar_t>(a.steps * a.N, [&](int64_t i) {
    u[i] = recharge<T>(a, i / a.N, i % a.N).u;
  });
}

// sg = g'(u) in place
template <class S, class T>
__global__ void surrogate_grad_kernel(int64_t n, T* __restrict__ u, const S s) {
  grid_stride<T>(n, [&](int64_t i) { u[i] = s.template grad<T>(u[i]); });
}

template <class scalar_t, class F>
__global__ void neuron_backward_kernel(const BackwardArgs<scalar_t, F> a,
                                       const typename F::opmath* __restrict__ sg) {
  using T = typename F::opmath;
  grid_stride<scalar_t>(a.N, [&](int64_t n) {
    Values<T, F::kStates> carry;
    Values<T, F::kParams> sums;
    initial_carry<T>(a, n, carry);
    for (int k = 0; k < F::kParams; ++k) sums[k] = T(0);
    for (int64_t t = a.steps - 1; t >= 0; --t) {
      backward_cell(a, t, n, recharge<T>(a, t, n), sg[t * a.N + n], carry, sums);
    }
    for (int k = 0; k < F::kStates; ++k) Lane<T>::store(a.grad_init[k] + n, carry[k]);
    for (int k = 0; k < F::kParams; ++k) {
      if (a.grad_p[k] != nullptr) a.grad_p[k][n] = sums[k];
    }
  });
}

struct NeuronBackend {
  using Guard = c10::cuda::CUDAGuard;

  static at::Tensor total_to(const at::Tensor& partial, at::IntArrayRef shape) {
    return at::sum_to(partial.to(at::kDouble), shape);
  }

  static at::Tensor new_sequence(const at::Tensor& like) {
    return at::empty(like.sizes(), like.options());
  }

  template <class scalar_t, class F>
  static void forward(const ForwardArgs<scalar_t, F>& a) {
    neuron_forward_kernel<<<grid_size(a.N), kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(a);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  }

  template <class scalar_t, class F>
  static void backward(const BackwardArgs<scalar_t, F>& a, const SurrogateChoice& choice) {
    using T = typename F::opmath;
    const auto stream = c10::cuda::getCurrentCUDAStream();
    const int64_t n = a.steps * a.N;
    at::Tensor buffer = at::empty(  // on the current device, which the Guard set
        {std::max<int64_t>(n, 1)},
        at::TensorOptions().dtype(c10::CppTypeToScalarType<T>::value).device(at::kCUDA));
    T* sg = buffer.mutable_data_ptr<T>();
    if (n > 0) {
      neuron_fire_input_kernel<<<grid_size(n), kThreads, 0, stream>>>(a, sg);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
      with_scaled_surrogate<T>(choice, [&](const auto& s) {
        surrogate_grad_kernel<<<grid_size(n), kThreads, 0, stream>>>(n, sg, s);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      });
    }
    neuron_backward_kernel<<<grid_size(a.N), kThreads, 0, stream>>>(a, sg);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  }
};

}  // namespace
}  // namespace surrogate_ext::cuda

TORCH_LIBRARY_IMPL(surrogate_ext, CUDA, m) {
  surrogate_ext::register_neuron_ops<surrogate_ext::cuda::NeuronBackend>(m);
}
