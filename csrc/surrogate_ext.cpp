// The one TORCH_LIBRARY block: every schema, generated from the table in surrogates.h
// (elementwise operators: ops.h; fused multi-step neurons: neuron_ops.h).
// Kernels register themselves per backend: cpu/, cuda/, autograd/.

#include <surrogate_ext/build_info.h>
#include <surrogate_ext/surrogates.h>

#include <torch/library.h>
#include <torch/version.h>

#include <string>

namespace surrogate_ext {

std::string build_info() {
  std::string info = "torch_version=" + std::to_string(TORCH_VERSION_MAJOR) + "." +
                     std::to_string(TORCH_VERSION_MINOR) + "." +
                     std::to_string(TORCH_VERSION_PATCH) +
                     ";cpu_capability=" + cpu_capability();
#ifdef SURROGATE_EXT_WITH_CUDA
  info += ";" + cuda_build_info();
#else
  info += ";cuda=0";
#endif
  return info;
}

}  // namespace surrogate_ext

TORCH_LIBRARY(surrogate_ext, m) {
  // Fake (meta) kernels are registered in Python, by this module, from the registry.
  m.set_python_module("surrogate_ext._fake");
  const std::vector<at::Tag> tags = {at::Tag::pt2_compliant_tag};
  m.def("heaviside(Tensor x) -> Tensor", tags);
#define SURROGATE_EXT_DEFINE_SCHEMAS(op, Functor, params)                                    \
  m.def(#op "(Tensor x, " params ") -> Tensor", tags);                                     \
  m.def(#op "_primitive(Tensor x, " params ") -> Tensor", tags);                           \
  m.def(#op "_backward(Tensor grad_output, Tensor x, " params ") -> Tensor", tags);        \
  m.def(#op "_primitive_backward(Tensor grad_output, Tensor x, " params ") -> Tensor", tags);      \
  m.def(#op "_multistep_node(Tensor x_seq, Tensor v_init, str neuron, float tau, Tensor? k, "      \
        "bool decay_input, float v_threshold, float? v_reset, bool detach_reset, " params          \
        ") -> (Tensor spike_seq, Tensor v_seq)", tags);                                            \
  m.def(#op "_multistep_node_backward(Tensor grad_spike_seq, Tensor? grad_v_seq, Tensor x_seq, "   \
        "Tensor v_init, Tensor v_seq, str neuron, float tau, Tensor? k, "                          \
        "bool decay_input, float v_threshold, float? v_reset, bool detach_reset, " params          \
        ") -> (Tensor grad_x_seq, Tensor grad_v_init, Tensor grad_k)", tags);
  SURROGATE_EXT_FOR_EACH_SURROGATE(SURROGATE_EXT_DEFINE_SCHEMAS)
#undef SURROGATE_EXT_DEFINE_SCHEMAS
  // "torch_version=2.14.1;cpu_capability=avx2;cuda=1;cuda_version=13000;cuda_archs=900"
  m.def("build_info() -> str", &surrogate_ext::build_info);
}
