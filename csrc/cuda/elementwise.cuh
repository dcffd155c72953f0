#pragma once
// CUDA elementwise maps: the same functors as the CPU kernels, math in at::opmath_type<scalar_t>.
// Grid-stride loops with 64-bit indices; 16-byte vector loads and stores when the pointers are
// aligned (a scalar tail after); a broadcast grad_output is read as one value.
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

// 16 bytes of scalar_t (4 floats, 2 doubles, 8 halves), loaded and stored as one vector access.
template <class scalar_t>
constexpr int kPack = 16 / sizeof(scalar_t);
template <class scalar_t>
struct alignas(16) Pack {
  scalar_t v[kPack<scalar_t>];
};

inline bool is_aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// y = Fn(s, x). With `vectorized` (x and y 16-byte aligned) the first n - n % kPack elements go
// through 16-byte loads and stores, the rest one at a time.
template <class Fn, class S, class scalar_t>
__global__ void unary_kernel(int64_t n, const scalar_t* __restrict__ x, scalar_t* __restrict__ y,
                             S s, bool vectorized) {
  using opmath_t = at::opmath_type<scalar_t>;
  using P = Pack<scalar_t>;
  constexpr int k = kPack<scalar_t>;
  const int64_t packs = vectorized ? n / k : 0;
  grid_stride<scalar_t>(packs, [&](int64_t i) {
    const P in = reinterpret_cast<const P*>(x)[i];
    P out;
#pragma unroll
    for (int j = 0; j < k; ++j) {
      out.v[j] = static_cast<scalar_t>(Fn::apply(s, static_cast<opmath_t>(in.v[j])));
    }
    reinterpret_cast<P*>(y)[i] = out;
  });
  const int64_t done = packs * k;
  grid_stride<scalar_t>(n - done, [&](int64_t i) {
    y[done + i] = static_cast<scalar_t>(Fn::apply(s, static_cast<opmath_t>(x[done + i])));
  });
}

// y = g * Fn(s, x); g_stride is 1, or 0 for a grad_output that is one value broadcast (what
// .sum().backward() hands over), which is then read once instead of materialised.
template <class Fn, class S, class scalar_t>
__global__ void binary_kernel(int64_t n, const scalar_t* __restrict__ g, int64_t g_stride,
                              const scalar_t* __restrict__ x, scalar_t* __restrict__ y, S s,
                              bool vectorized) {
  using opmath_t = at::opmath_type<scalar_t>;
  using P = Pack<scalar_t>;
  constexpr int k = kPack<scalar_t>;
  const int64_t packs = vectorized ? n / k : 0;
  grid_stride<scalar_t>(packs, [&](int64_t i) {
    const P in = reinterpret_cast<const P*>(x)[i];
    P grad;
    if (g_stride == 0) {
#pragma unroll
      for (int j = 0; j < k; ++j) grad.v[j] = g[0];
    } else {
      grad = reinterpret_cast<const P*>(g)[i];
    }
    P out;
#pragma unroll
    for (int j = 0; j < k; ++j) {
      out.v[j] = static_cast<scalar_t>(static_cast<opmath_t>(grad.v[j]) *
                                       Fn::apply(s, static_cast<opmath_t>(in.v[j])));
    }
    reinterpret_cast<P*>(y)[i] = out;
  });
  const int64_t done = packs * k;
  grid_stride<scalar_t>(n - done, [&](int64_t i) {
    const int64_t e = done + i;
    y[e] = static_cast<scalar_t>(static_cast<opmath_t>(g[e * g_stride]) *
                                 Fn::apply(s, static_cast<opmath_t>(x[e])));
  });
}

// A tensor holding one value for every element (all strides 0 where the size is not 1).
inline bool is_broadcast_scalar(const at::Tensor& t) {
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (t.size(d) != 1 && t.stride(d) != 0) return false;
  }
  return true;
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
      const scalar_t* xp = x.const_data_ptr<scalar_t>();
      scalar_t* yp = y.mutable_data_ptr<scalar_t>();
      const bool vectorized = is_aligned16(xp) && is_aligned16(yp);
      const int64_t work = vectorized ? n / kPack<scalar_t> + kPack<scalar_t> : n;
      unary_kernel<Fn, S<opmath_t>, scalar_t><<<grid_size(work), kThreads, 0, stream>>>(
          n, xp, yp, S<opmath_t>(a...), vectorized);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
    return y;
  }

  template <class Fn, template <class> class S, class... A>
  static at::Tensor map_binary(const at::Tensor& g_in, const at::Tensor& x_in,
                               A... a) {
    const c10::cuda::CUDAGuard guard(x_in.device());
    const bool g_scalar = is_broadcast_scalar(g_in);
    const at::Tensor g = g_scalar ? g_in : g_in.contiguous();
    const at::Tensor x = x_in.contiguous();
    at::Tensor y = at::empty(x.sizes(), x.options(), at::MemoryFormat::Contiguous);
    const int64_t n = y.numel();
    if (n == 0) return y;
    const auto stream = c10::cuda::getCurrentCUDAStream();
    SURROGATE_EXT_DISPATCH_FLOATING(x.scalar_type(), [&] {
      using opmath_t = at::opmath_type<scalar_t>;
      const scalar_t* gp = g.const_data_ptr<scalar_t>();
      const scalar_t* xp = x.const_data_ptr<scalar_t>();
      scalar_t* yp = y.mutable_data_ptr<scalar_t>();
      const bool vectorized =
          is_aligned16(xp) && is_aligned16(yp) && (g_scalar || is_aligned16(gp));
      const int64_t work = vectorized ? n / kPack<scalar_t> + kPack<scalar_t> : n;
      binary_kernel<Fn, S<opmath_t>, scalar_t><<<grid_size(work), kThreads, 0, stream>>>(
          n, gp, g_scalar ? 0 : 1, xp, yp, S<opmath_t>(a...), vectorized);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
    return y;
  }
};

}  // namespace surrogate_ext::cuda
