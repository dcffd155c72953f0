#pragma once
#include <string>

namespace surrogate_ext {
// "torch_version=X.Y.Z;cuda=0|1[;cuda_version=N;cuda_archs=A,B]": what this library was built with.
std::string build_info();
#ifdef SURROGATE_EXT_WITH_CUDA
// "cuda=1;cuda_version=N;cuda_archs=A,B", from the CUDA compiler (defined in cuda/).
std::string cuda_build_info();
#endif
}  // namespace surrogate_ext
