// Registers the CPU kernels of the best capability this CPU has: AVX2+FMA+F16C, or the portable
// build. ATEN_CPU_CAPABILITY=default (PyTorch's own switch) forces the portable build.
#include "kernels.h"

#include <surrogate_ext/build_info.h>

#include <cstdlib>
#include <cstring>

namespace surrogate_ext {

const char* cpu_capability() {
  static const char* capability = [] {
#ifdef SURROGATE_EXT_HAVE_AVX2
    const char* forced = std::getenv("ATEN_CPU_CAPABILITY");
    const bool allowed = forced == nullptr || std::strcmp(forced, "default") != 0;
    if (allowed && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("f16c")) return "avx2";
#endif
    return "default";
  }();
  return capability;
}

}  // namespace surrogate_ext

TORCH_LIBRARY_IMPL(surrogate_ext, CPU, m) {
#ifdef SURROGATE_EXT_HAVE_AVX2
  if (std::strcmp(surrogate_ext::cpu_capability(), "avx2") == 0) {
    surrogate_ext::cpu::AVX2::register_forward_ops(m);
    surrogate_ext::cpu::AVX2::register_backward_ops(m);
    surrogate_ext::cpu::AVX2::register_neuron_ops(m);
    return;
  }
#endif
  surrogate_ext::cpu::DEFAULT::register_forward_ops(m);
  surrogate_ext::cpu::DEFAULT::register_backward_ops(m);
  surrogate_ext::cpu::DEFAULT::register_neuron_ops(m);
}
