// CUDA kernels of the forward operators (heaviside, op, op_primitive), and what the CUDA
// compiler knows about this build.
#include "elementwise.cuh"

#include <surrogate_ext/build_info.h>
#include <surrogate_ext/ops.h>

#include <cuda.h>

#include <string>

namespace surrogate_ext {

std::string cuda_build_info() {
  // nvcc defines __CUDA_ARCH_LIST__ as the comma-separated list of the archs it compiles for.
#define SURROGATE_EXT_STRINGIFY_(...) #__VA_ARGS__
#define SURROGATE_EXT_STRINGIFY(...) SURROGATE_EXT_STRINGIFY_(__VA_ARGS__)
  return "cuda=1;cuda_version=" + std::to_string(CUDA_VERSION) +
         ";cuda_archs=" SURROGATE_EXT_STRINGIFY(__CUDA_ARCH_LIST__);
}

}  // namespace surrogate_ext

TORCH_LIBRARY_IMPL(surrogate_ext, CUDA, m) {
  surrogate_ext::register_forward_ops<surrogate_ext::cuda::Backend>(m);
}
