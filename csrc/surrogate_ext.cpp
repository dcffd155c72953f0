// The one TORCH_LIBRARY block: every schema, generated from the table in surrogates.h
// (elementwise operators: ops.h; fused multi-step neurons: neuron_ops.h).
// Kernels register themselves per backend: cpu/, cuda/, autograd/.

#include <surrogate_ext/build_info.h>
#include <surrogate_ext/ops.h>

#include <ATen/ops/aminmax.h>

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

at::Tensor bernoulli_spikes(const char* op, const at::Tensor& p) {
  if (p.numel() > 0) {
    const auto [lo, hi] = at::aminmax(p);
    const double min = lo.item<double>(), max = hi.item<double>();
    TORCH_CHECK_VALUE(min >= 0 && max <= 1, op,
                      ": with stochastic=True the firing probability g(x) must lie in [0, 1], got "
                      "values in [", min, ", ", max, "]");  // NaN fails too (and propagates to min)
  }
  return at::bernoulli(p);
}

}  // namespace surrogate_ext

// The schemas. A surrogate's parameters come from the table; the keyword-only arguments after
// them are the threshold convention (strict: x > 0), the stochastic forward (Bernoulli(g(x))) and
// a multiplier of the surrogate gradient (grad_scale). The backward operators' outputs are named
// grad_<input>: the autograd kernel (autograd/autograd_kernel.cpp) matches names.
TORCH_LIBRARY(surrogate_ext, m) {
  // Fake (meta) kernels are registered in Python, by this module, from the registry.
  m.set_python_module("surrogate_ext.core.fake");
  const std::vector<at::Tag> tags = {at::Tag::pt2_compliant_tag};
  m.def("heaviside(Tensor x, *, bool strict=False) -> Tensor", tags);
#define SURROGATE_EXT_DEFINE_SCHEMAS(op, Functor, params)                                         \
  m.def(#op "(Tensor x" params                                                                    \
        ", *, bool strict=False, bool stochastic=False, float grad_scale=1.0) -> Tensor", tags);   \
  m.def(#op "_primitive(Tensor x" params ") -> Tensor", tags);                                    \
  m.def(#op "_backward(Tensor grad_output, Tensor x" params                                       \
        ", *, float grad_scale=1.0) -> Tensor grad_x", tags);                                     \
  m.def(#op "_primitive_backward(Tensor grad_output, Tensor x" params ") -> Tensor grad_x", tags);
  SURROGATE_EXT_FOR_EACH_SURROGATE(SURROGATE_EXT_DEFINE_SCHEMAS)
#undef SURROGATE_EXT_DEFINE_SCHEMAS
#define SURROGATE_EXT_DEFINE_NEURON_SCHEMAS(op, Functor, params)                                   \
  m.def(#op "_multistep_node(Tensor x_seq, Tensor v_init, str neuron, float tau, Tensor? plif_k, "\
        "bool decay_input, float v_threshold, float? v_reset, bool detach_reset" params            \
        ", *, bool strict=False, float grad_scale=1.0) "                                          \
        "-> (Tensor spike_seq, Tensor v_seq, Tensor v)", tags);                                   \
  m.def(#op "_multistep_node_backward(Tensor grad_spike_seq, Tensor? grad_v_seq, Tensor? grad_v, "\
        "Tensor x_seq, Tensor v_init, Tensor v_seq, str neuron, float tau, Tensor? plif_k, "       \
        "bool decay_input, float v_threshold, float? v_reset, bool detach_reset" params            \
        ", *, bool strict=False, float grad_scale=1.0) "                                          \
        "-> (Tensor grad_x_seq, Tensor grad_v_init, Tensor grad_plif_k)", tags);
  SURROGATE_EXT_FOR_EACH_THRESHOLD_SURROGATE(SURROGATE_EXT_DEFINE_NEURON_SCHEMAS)
#undef SURROGATE_EXT_DEFINE_NEURON_SCHEMAS
  // snnTorch's stochastic spike operator (special_ops.cpp): the strict spike forward, and a
  // backward that draws the non-firing units' gradient from torch's generator.
  m.def("stochastic_spike_operator(Tensor x, float mean=0.0, float variance=0.2) -> Tensor", tags);
  m.def("stochastic_spike_operator_backward(Tensor grad_output, Tensor x, float mean=0.0, "
        "float variance=0.2) -> Tensor grad_x", tags);
  // "torch_version=2.14.1;cpu_capability=avx2;cuda=1;cuda_version=13000;cuda_archs=900"
  m.def("build_info() -> str", &surrogate_ext::build_info);
}
