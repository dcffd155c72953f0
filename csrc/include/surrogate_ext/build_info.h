#pragma once
#include <string>

namespace surrogate_ext {
// "torch_version=X.Y.Z;cpu_capability=avx2|default;cuda=0|1[;cuda_version=N;cuda_archs=A,B]":
// what this library was built with, and which CPU kernels it runs.
std::string build_info();
// "avx2" or "default": the CPU kernels registered in this process (cpu/register_cpu.cpp).
const char* cpu_capability();
#ifdef SURROGATE_EXT_WITH_CUDA
// "cuda=1;cuda_version=N;cuda_archs=A,B", from the CUDA compiler (defined in cuda/).
std::string cuda_build_info();
#endif
}  // namespace surrogate_ext
