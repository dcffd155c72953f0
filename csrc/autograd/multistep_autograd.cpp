// Autograd of the fused multi-step neuron operators, in C++ on the Autograd key (like
// autograd_ops.cpp for the elementwise ones):
//   op_multistep_node: differentiable in x_seq, v_init and k through op_multistep_node_backward
//     (BPTT); both outputs, spike_seq and v_seq, take gradients. It saves x_seq, v_init and v_seq
//     (the backward recomputes h from them).
//   op_multistep_node_backward: differentiating it again raises "double backward is not supported".

#include <surrogate_ext/neuron_ops.h>

#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/autograd.h>

#include <tuple>

namespace surrogate_ext {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using OptTensor = c10::optional<at::Tensor>;

template <class Sig>
c10::TypedOperatorHandle<Sig> find_op(const char* qualified_name) {
  return c10::Dispatcher::singleton().findSchemaOrThrow(qualified_name, "").template typed<Sig>();
}

// The configuration arguments shared by both operators, after the tensors.
struct NeuronArgs {
  std::string neuron;
  double tau;
  bool decay_input;
  double v_threshold;
  c10::optional<double> v_reset;
  bool detach_reset;
};

template <class Tag, class Args = ArgsOf<typename Tag::surrogate>>
struct NeuronAutograd;

template <class Tag, class... A>
struct NeuronAutograd<Tag, std::tuple<A...>> {
  using Forward = TensorPair(const at::Tensor&, const at::Tensor&, c10::string_view, double,
                             const OptTensor&, bool, double, c10::optional<double>, bool, A...);
  using Backward = TensorTriple(const at::Tensor&, const OptTensor&, const at::Tensor&,
                                const at::Tensor&, const at::Tensor&, c10::string_view, double,
                                const OptTensor&, bool, double, c10::optional<double>, bool,
                                A...);

  static TensorPair call_forward(const at::Tensor& x_seq, const at::Tensor& v_init,
                                   const NeuronArgs& n, const OptTensor& k, A... a) {
    static const auto op = find_op<Forward>(Tag::forward);
    at::AutoDispatchBelowADInplaceOrView guard;
    return op.call(x_seq, v_init, n.neuron, n.tau, k, n.decay_input, n.v_threshold, n.v_reset,
                   n.detach_reset, a...);
  }

  struct Differentiable : torch::autograd::Function<Differentiable> {
    static variable_list forward(AutogradContext* ctx, const at::Tensor& x_seq,
                                 const at::Tensor& v_init, std::string neuron, double tau,
                                 const OptTensor& k, bool decay_input, double v_threshold,
                                 c10::optional<double> v_reset, bool detach_reset, A... a) {
      const NeuronArgs n{neuron, tau, decay_input, v_threshold, v_reset, detach_reset};
      auto [spike_seq, v_seq] = call_forward(x_seq, v_init, n, k, a...);
      ctx->set_materialize_grads(false);
      ctx->save_for_backward({x_seq, v_init, v_seq, k.has_value() ? *k : at::Tensor()});
      ctx->saved_data["neuron"] = neuron;
      ctx->saved_data["tau"] = tau;
      ctx->saved_data["decay_input"] = decay_input;
      ctx->saved_data["v_threshold"] = v_threshold;
      ctx->saved_data["v_reset"] = v_reset;
      ctx->saved_data["detach_reset"] = detach_reset;
      ctx->saved_data["params"] = std::make_tuple(a...);
      return {spike_seq, v_seq};
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
      static const auto op = find_op<Backward>(Tag::backward);
      const auto saved = ctx->get_saved_variables();
      const at::Tensor& x_seq = saved[0];
      const OptTensor k = saved[3].defined() ? OptTensor(saved[3]) : c10::nullopt;
      const at::Tensor grad_spike = grads[0].defined() ? grads[0] : at::zeros_like(x_seq);
      const OptTensor grad_v = grads[1].defined() ? OptTensor(grads[1]) : c10::nullopt;
      const auto& d = ctx->saved_data;
      const auto params = d.at("params").template to<std::tuple<A...>>();
      auto [grad_x, grad_v_init, grad_k] = std::apply(
          [&](A... p) {
            return op.call(grad_spike, grad_v, x_seq, saved[1], saved[2],
                           d.at("neuron").toStringRef(), d.at("tau").toDouble(), k,
                           d.at("decay_input").toBool(), d.at("v_threshold").toDouble(),
                           d.at("v_reset").toOptional<double>(), d.at("detach_reset").toBool(),
                           p...);
          },
          params);
      return {grad_x, grad_v_init, at::Tensor(), at::Tensor(),
              k.has_value() ? grad_k : at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(),
              at::Tensor(), (static_cast<void>(sizeof(A)), at::Tensor())...};
    }
  };

  // The backward operator: differentiable once (by its caller), never twice.
  struct OnceDifferentiable : torch::autograd::Function<OnceDifferentiable> {
    static variable_list forward(AutogradContext*, const at::Tensor& grad_spike_seq,
                                 const OptTensor& grad_v_seq, const at::Tensor& x_seq,
                                 const at::Tensor& v_init, const at::Tensor& v_seq,
                                 std::string neuron, double tau,
                                 const OptTensor& k, bool decay_input, double v_threshold,
                                 c10::optional<double> v_reset, bool detach_reset, A... a) {
      static const auto op = find_op<Backward>(Tag::backward);
      at::AutoDispatchBelowADInplaceOrView guard;
      auto [gx, gv, gk] = op.call(grad_spike_seq, grad_v_seq, x_seq, v_init, v_seq, neuron, tau, k,
                                  decay_input, v_threshold, v_reset, detach_reset, a...);
      return {gx, gv, gk};
    }
    static variable_list backward(AutogradContext*, variable_list) {
      TORCH_CHECK(false, Tag::backward, ": double backward is not supported");
      return {};
    }
  };

  static TensorPair forward(const at::Tensor& x_seq, const at::Tensor& v_init,
                            c10::string_view neuron, double tau, const OptTensor& k,
                            bool decay_input, double v_threshold, c10::optional<double> v_reset,
                            bool detach_reset, A... a) {
    const bool k_grad = k.has_value() && k->defined() && k->requires_grad();
    if (at::GradMode::is_enabled() && (x_seq.requires_grad() || v_init.requires_grad() || k_grad)) {
      auto out = Differentiable::apply(x_seq, v_init, std::string(neuron), tau, k, decay_input,
                                       v_threshold, v_reset, detach_reset, a...);
      return {out[0], out[1]};
    }
    const NeuronArgs n{std::string(neuron), tau, decay_input, v_threshold, v_reset, detach_reset};
    return call_forward(x_seq, v_init, n, k, a...);
  }

  static TensorTriple backward(const at::Tensor& grad_spike_seq, const OptTensor& grad_v_seq,
                               const at::Tensor& x_seq, const at::Tensor& v_init,
                               const at::Tensor& v_seq, c10::string_view neuron, double tau,
                               const OptTensor& k,
                               bool decay_input, double v_threshold,
                               c10::optional<double> v_reset, bool detach_reset, A... a) {
    auto out = OnceDifferentiable::apply(grad_spike_seq, grad_v_seq, x_seq, v_init, v_seq,
                                         std::string(neuron), tau, k, decay_input, v_threshold,
                                         v_reset, detach_reset, a...);
    return {out[0], out[1], out[2]};
  }

  static void register_all(torch::Library& m) {
    m.impl(Tag::forward, TORCH_FN(forward));
    m.impl(Tag::backward, TORCH_FN(backward));
  }
};

}  // namespace
}  // namespace surrogate_ext

TORCH_LIBRARY_IMPL(surrogate_ext, Autograd, m) {
#define SURROGATE_EXT_REGISTER(op, Functor, params) \
  surrogate_ext::NeuronAutograd<surrogate_ext::tags::op##_multistep_node>::register_all(m);
  SURROGATE_EXT_FOR_EACH_SURROGATE(SURROGATE_EXT_REGISTER)
#undef SURROGATE_EXT_REGISTER
}
