#pragma once
// CUDA elementwise maps: the same functors as the CPU kernels, math in at::opmath_type<scalar_t>.
// Host code follows a fixed order: device guard, contiguous inputs, a new contiguous output,
// early return when empty, dtype dispatch, launch on the current stream, launch check.

#include <surrogate_ext/dispatch.h>

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <algorithm>
#include <cstdint>

namespace surrogate_ext::cuda {

constexpr int kThreads = 256;

// A grid-stride loop over n elements, with 64-bit indices.
template <class scalar_t, class Body>
__device__ __forceinline__ void grid_stride(int64_t n, Body body) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    body(i);
  }
}

template <class Fn, class S, class scalar_t>
__global__ void unary_kernel(int64_t n, const scalar_t* __restrict__ x, scalar_t* __restrict__ y,
                             S s) {
  using opmath_t = at::opmath_type<scalar_t>;
  grid_stride<scalar_t>(n, [&](int64_t i) {
    y[i] = static_cast<scalar_t>(Fn::apply(s, static_cast<opmath_t>(x[i])));
  });
}

template <class Fn, class S, class scalar_t>
__global__ void binary_kernel(int64_t n, const scalar_t* __restrict__ g,
                              const scalar_t* __restrict__ x, scalar_t* __restrict__ y, S s) {
  using opmath_t = at::opmath_type<scalar_t>;
  grid_stride<scalar_t>(n, [&](int64_t i) {
    y[i] = static_cast<scalar_t>(static_cast<opmath_t>(g[i]) *
                                 Fn::apply(s, static_cast<opmath_t>(x[i])));
  });
}

inline unsigned int grid_size(int64_t n) {
  int device = 0, sms = 0;
  C10_CUDA_CHECK(cudaGetDevice(&device));
  C10_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned int>(std::min<int64_t>(blocks, static_cast<int64_t>(sms) * 32));
}

struct Backend {
  template <class Fn, template <class> class S, class... A>
  static at::Tensor map_unary(const at::Tensor& x_in, A... a) {
    const c10::cuda::CUDAGuard guard(x_in.device());
    const at::Tensor x = x_in.contiguous();
    at::Tensor y = at::empty(x.sizes(), x.options(), at::MemoryFormat::Contiguous);
    const int64_t n = y.numel();
    if (n == 0) return y;
    const auto stream = c10::cuda::getCurrentCUDAStream();
    SURROGATE_EXT_DISPATCH_FLOATING(x.scalar_type(), [&] {
      using opmath_t = at::opmath_type<scalar_t>;
      unary_kernel<Fn, S<opmath_t>, scalar_t><<<grid_size(n), kThreads, 0, stream>>>(
          n, x.const_data_ptr<scalar_t>(), y.mutable_data_ptr<scalar_t>(), S<opmath_t>(a...));
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
    return y;
  }

  template <class Fn, template <class> class S, class... A>
  static at::Tensor map_binary(const at::Tensor& g_in, const at::Tensor& x_in,
                               A... a) {
    const c10::cuda::CUDAGuard guard(x_in.device());
    const at::Tensor g = g_in.contiguous();
    const at::Tensor x = x_in.contiguous();
    at::Tensor y = at::empty(x.sizes(), x.options(), at::MemoryFormat::Contiguous);
    const int64_t n = y.numel();
    if (n == 0) return y;
    const auto stream = c10::cuda::getCurrentCUDAStream();
    SURROGATE_EXT_DISPATCH_FLOATING(x.scalar_type(), [&] {
      using opmath_t = at::opmath_type<scalar_t>;
      binary_kernel<Fn, S<opmath_t>, scalar_t><<<grid_size(n), kThreads, 0, stream>>>(
          n, g.const_data_ptr<scalar_t>(), x.const_data_ptr<scalar_t>(),
          y.mutable_data_ptr<scalar_t>(), S<opmath_t>(a...));
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
    return y;
  }
};

}  // namespace surrogate_ext::cuda
