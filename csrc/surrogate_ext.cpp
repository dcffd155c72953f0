// The one TORCH_LIBRARY block: every schema, generated from the table in surrogates.h
// (elementwise operators: ops.h; fused multi-step neurons: neuron_ops.h).
// Kernels register themselves per backend: cpu/, cuda/, autograd/.

#include <surrogate_ext/build_info.h>
#include <surrogate_ext/neurons.h>
#include <surrogate_ext/ops.h>

#include <ATen/ops/aminmax.h>

#include <torch/library.h>
#include <torch/version.h>

#include <string>
#include <vector>

namespace surrogate_ext {

// The schemas of a neuron family (neuron_ops.h documents the operators): with its states (v and
// the table's extra states) and `params` the family's arguments (", Tensor w, float tau, ...").
std::vector<std::string> neuron_schemas(const std::string& name, const std::string& extra_states,
                                        const std::string& params) {
  const std::vector<std::string> states = neuron_state_names(extra_states);
  std::vector<std::string> tensor_params;  // the family's tensor arguments, which get gradients
  for (size_t at = params.find("Tensor "); at != std::string::npos; at = params.find("Tensor ", at + 1)) {
    const size_t begin = at + 7, end = params.find_first_of(", ", begin);
    tensor_params.push_back(params.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
  }
  const std::string tail = params + ", str surrogate, float[] surrogate_params, *, bool strict=False, "
                                    "float grad_scale=1.0)";
  // the backwards' tail: output_mask, which outputs are wanted (neuron_ops.h)
  const std::string backward_tail = tail.substr(0, tail.size() - 1) + ", bool[]? output_mask=None)";
  auto join = [&](const std::string& prefix, const std::string& suffix, const std::string& type) {
    std::string out;
    for (const auto& s : states) out += ", " + type + " " + prefix + s + suffix;
    return out;
  };
  std::string grad_params;
  for (const auto& p : tensor_params) grad_params += ", Tensor grad_" + p;
  std::string multistep_outs = "Tensor spike_seq";
  for (const auto& s : states) multistep_outs += ", Tensor " + s + "_seq, Tensor " + s;
  std::string multistep_grads;
  for (const auto& s : states) multistep_grads += ", Tensor? grad_" + s + "_seq, Tensor? grad_" + s;
  return {
      name + "_multistep(Tensor x_seq" + join("", "_init", "Tensor") + tail + " -> (" +
          multistep_outs + ")",
      name + "_multistep_backward(Tensor grad_spike_seq" + multistep_grads + ", Tensor x_seq" +
          join("", "_init", "Tensor") + join("", "_seq", "Tensor") + backward_tail +
          " -> (Tensor grad_x_seq" + join("grad_", "_init", "Tensor") + grad_params + ")",
      name + "_step(Tensor x" + join("", "", "Tensor") + tail + " -> (Tensor spike" +
          join("", "_next", "Tensor") + ")",
      name + "_step_backward(Tensor grad_spike" + join("grad_", "_next", "Tensor?") + ", Tensor x" +
          join("", "", "Tensor") + backward_tail + " -> (Tensor grad_x" + join("grad_", "", "Tensor") +
          grad_params + ")",
  };
}

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
  // The neuron engine (neurons.h): four operators per family, with the surrogate chosen by name.
#define SURROGATE_EXT_DEFINE_NEURON_SCHEMAS(name, Functor, extra_states, params) \
  for (const auto& schema : surrogate_ext::neuron_schemas(#name, extra_states, params)) m.def(schema.c_str(), tags);
  SURROGATE_EXT_FOR_EACH_NEURON(SURROGATE_EXT_DEFINE_NEURON_SCHEMAS)
#undef SURROGATE_EXT_DEFINE_NEURON_SCHEMAS
  // snnTorch's stochastic spike operator (special_ops.cpp): the strict spike forward, and a
  // backward that draws the non-firing units' gradient from torch's generator.
  m.def("stochastic_spike_operator(Tensor x, float mean=0.0, float variance=0.2) -> Tensor", tags);
  m.def("stochastic_spike_operator_backward(Tensor grad_output, Tensor x, float mean=0.0, "
        "float variance=0.2) -> Tensor grad_x", tags);
  // "torch_version=2.14.1;cpu_capability=avx2;cuda=1;cuda_version=13000;cuda_archs=900"
  m.def("build_info() -> str", &surrogate_ext::build_info);
}
