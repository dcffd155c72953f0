#pragma once
// The fused multi-step neuron operators of one surrogate, for one backend, generated from the
// table in surrogates.h (see neuron.h for the dynamics):
//   op_multistep_node(x_seq, v_init, neuron, tau, k, decay_input, v_threshold, v_reset,
//                     detach_reset, p...) -> (spike_seq, v_seq, h_seq)
//   op_multistep_node_backward(grad_spike_seq, grad_v_seq?, h_seq, v_init, v_seq, x_seq?, neuron,
//                     tau, k, decay_input, v_threshold, v_reset, detach_reset, p...)
//                     -> (grad_x_seq, grad_v_init, grad_k)
// neuron is "if", "lif" (uses tau) or "plif" (uses k = sigmoid(w), a one-element tensor).
// A Backend provides
//   template <template <class> class S, class... A>
//   static std::tuple<Tensor, Tensor, Tensor> multistep_forward(const NeuronConfig&, x_seq, v_init, A...);
//   ... multistep_backward(const NeuronConfig&, grad_spike_seq, grad_v_seq, h_seq, v_init, v_seq,
//                          x_seq, bool k_grad, A...);
// with [T, N] contiguous tensors (v_init [N]).

#include <surrogate_ext/checks.h>
#include <surrogate_ext/neuron.h>
#include <surrogate_ext/ops.h>

#include <ATen/core/Tensor.h>
#include <c10/util/Optional.h>
#include <c10/util/string_view.h>
#include <torch/library.h>

#include <string>
#include <tuple>

namespace surrogate_ext {

// The host side of NeuronParams: the operator's arguments, checked once.
struct NeuronConfig {
  NeuronKind kind;
  bool decay_input, reset_is_zero, hard_reset, detach_reset;
  double tau = 1, k = 1, keep = 1, v_threshold, v_reset = 0;

  template <class T>
  NeuronParams<T> params() const {
    return NeuronParams<T>{kind, decay_input, reset_is_zero, hard_reset, detach_reset,
                           static_cast<T>(tau), static_cast<T>(k), static_cast<T>(keep),
                           static_cast<T>(v_threshold), static_cast<T>(v_reset)};
  }
};

// 1 - k rounded to k's dtype, as SpikingJelly's `1. - w.sigmoid()` is.
inline double one_minus_in(double k, at::ScalarType dtype) {
  const double d = 1 - k;
  switch (dtype) {
    case at::kFloat: return static_cast<float>(d);
    case at::kHalf: return static_cast<float>(c10::Half(static_cast<float>(d)));
    case at::kBFloat16: return static_cast<float>(c10::BFloat16(static_cast<float>(d)));
    default: return d;
  }
}

inline NeuronConfig make_neuron_config(const char* op, c10::string_view neuron, double tau,
                                       const c10::optional<at::Tensor>& k, bool decay_input,
                                       double v_threshold, c10::optional<double> v_reset,
                                       bool detach_reset) {
  NeuronConfig c;
  if (neuron == "if") {
    c.kind = NeuronKind::IF;
  } else if (neuron == "lif") {
    c.kind = NeuronKind::LIF;
    TORCH_CHECK_VALUE(tau > 0, op, ": tau must be > 0, got ", tau);
    c.tau = tau;
    c.keep = 1 - 1 / tau;  // in double, then rounded to the opmath type: a Python scalar's path
  } else if (neuron == "plif") {
    c.kind = NeuronKind::PLIF;
    TORCH_CHECK_VALUE(k.has_value() && k->defined() && k->numel() == 1, op,
                      ": k must be a one-element tensor for neuron 'plif'");
    check_input(op, "k", *k);
    c.k = k->item<double>();
    c.keep = one_minus_in(c.k, k->scalar_type());
  } else {
    TORCH_CHECK_VALUE(false, op, ": neuron must be 'if', 'lif' or 'plif', got '",
                      std::string(neuron), "'");
  }
  c.decay_input = decay_input;
  c.hard_reset = v_reset.has_value();
  c.v_reset = v_reset.value_or(0);
  c.reset_is_zero = c.v_reset == 0;
  c.detach_reset = detach_reset;
  c.v_threshold = v_threshold;
  return c;
}

// x_seq: [T, ...]; v_init: x_seq[0]'s shape, dtype and device.
inline void check_sequence(const char* op, const at::Tensor& x_seq, const at::Tensor& v_init) {
  check_input(op, "x_seq", x_seq);
  TORCH_CHECK_VALUE(x_seq.dim() >= 1, op, ": x_seq must have shape [T, ...], got a 0-d tensor");
  check_input(op, "v_init", v_init);
  TORCH_CHECK_VALUE(v_init.sizes() == x_seq.sizes().slice(1), op,
                    ": v_init must have the shape of one step of x_seq, ", x_seq.sizes().slice(1),
                    ", got ", v_init.sizes());
  TORCH_CHECK_TYPE(v_init.scalar_type() == x_seq.scalar_type(), op,
                   ": v_init must have the dtype of x_seq, ", x_seq.scalar_type(), ", got ",
                   v_init.scalar_type());
  TORCH_CHECK(v_init.device() == x_seq.device(), op, ": v_init must be on the device of x_seq, ",
              x_seq.device(), ", got ", v_init.device());
}

// A [T, ...] tensor that must match h_seq (the saved forward state) in shape, dtype, device.
inline void check_like_sequence(const char* op, const char* name, const at::Tensor& t,
                                const at::Tensor& h_seq) {
  TORCH_CHECK_VALUE(t.sizes() == h_seq.sizes(), op, ": ", name, " must have shape ",
                    h_seq.sizes(), ", got ", t.sizes());
  TORCH_CHECK_TYPE(t.scalar_type() == h_seq.scalar_type(), op, ": ", name, " must have dtype ",
                   h_seq.scalar_type(), ", got ", t.scalar_type());
  TORCH_CHECK(t.device() == h_seq.device(), op, ": ", name, " must be on device ",
              h_seq.device(), ", got ", t.device());
}

namespace tags {
#define SURROGATE_EXT_DEFINE_NEURON_TAG(op, Functor, params)                          \
  struct op##_multistep_node {                                                        \
    using surrogate = tags::op;                                                       \
    static constexpr const char* forward = "surrogate_ext::" #op "_multistep_node";   \
    static constexpr const char* backward =                                           \
        "surrogate_ext::" #op "_multistep_node_backward";                             \
  };
SURROGATE_EXT_FOR_EACH_SURROGATE(SURROGATE_EXT_DEFINE_NEURON_TAG)
#undef SURROGATE_EXT_DEFINE_NEURON_TAG
}  // namespace tags

using TensorTriple = std::tuple<at::Tensor, at::Tensor, at::Tensor>;

template <class Backend, class Tag, class Args = ArgsOf<typename Tag::surrogate>>
struct NeuronOps;

template <class Backend, class Tag, class... A>
struct NeuronOps<Backend, Tag, std::tuple<A...>> {
  using Surrogate = typename Tag::surrogate;
  template <class T>
  using S = typename Surrogate::template functor<T>;

  static TensorTriple forward(const at::Tensor& x_seq, const at::Tensor& v_init,
                              c10::string_view neuron, double tau,
                              const c10::optional<at::Tensor>& k, bool decay_input,
                              double v_threshold, c10::optional<double> v_reset,
                              bool detach_reset, A... a) {
    S<float>::check(Surrogate::name, a...);
    check_sequence(Tag::forward, x_seq, v_init);
    const NeuronConfig c = make_neuron_config(Tag::forward, neuron, tau, k, decay_input,
                                              v_threshold, v_reset, detach_reset);
    return Backend::template multistep_forward<S>(c, x_seq, v_init, a...);
  }

  static TensorTriple backward(const at::Tensor& grad_spike_seq,
                               const c10::optional<at::Tensor>& grad_v_seq,
                               const at::Tensor& h_seq, const at::Tensor& v_init,
                               const at::Tensor& v_seq, const c10::optional<at::Tensor>& x_seq,
                               c10::string_view neuron, double tau,
                               const c10::optional<at::Tensor>& k, bool decay_input,
                               double v_threshold, c10::optional<double> v_reset,
                               bool detach_reset, A... a) {
    S<float>::check(Surrogate::name, a...);
    check_sequence(Tag::backward, h_seq, v_init);
    check_like_sequence(Tag::backward, "grad_spike_seq", grad_spike_seq, h_seq);
    check_like_sequence(Tag::backward, "v_seq", v_seq, h_seq);
    const bool has_grad_v = grad_v_seq.has_value() && grad_v_seq->defined();
    if (has_grad_v) check_like_sequence(Tag::backward, "grad_v_seq", *grad_v_seq, h_seq);
    const NeuronConfig c = make_neuron_config(Tag::backward, neuron, tau, k, decay_input,
                                              v_threshold, v_reset, detach_reset);
    const bool k_grad = c.kind == NeuronKind::PLIF;
    const bool needs_x = k_grad && decay_input;
    TORCH_CHECK_VALUE(!needs_x || (x_seq.has_value() && x_seq->defined()), Tag::backward,
                      ": x_seq is needed for neuron 'plif' with decay_input");
    if (needs_x) check_like_sequence(Tag::backward, "x_seq", *x_seq, h_seq);
    auto [grad_x, grad_v_init, grad_k] = Backend::template multistep_backward<S>(
        c, grad_spike_seq, has_grad_v ? *grad_v_seq : at::Tensor(), h_seq, v_init, v_seq,
        needs_x ? *x_seq : at::Tensor(), k_grad, a...);
    // grad_k: k's dtype and shape (zeros when there is no k)
    if (k_grad) {
      grad_k = grad_k.to(k->scalar_type()).reshape(k->sizes());
    }
    return {grad_x, grad_v_init, grad_k};
  }

  static void register_kernels(torch::Library& m) {
    m.impl(Tag::forward, TORCH_FN(forward));
    m.impl(Tag::backward, TORCH_FN(backward));
  }
};

// Registers the multi-step neuron operators of every surrogate.
template <class Backend>
void register_neuron_ops(torch::Library& m) {
#define SURROGATE_EXT_REGISTER(op, Functor, params) \
  NeuronOps<Backend, tags::op##_multistep_node>::register_kernels(m);
  SURROGATE_EXT_FOR_EACH_SURROGATE(SURROGATE_EXT_REGISTER)
#undef SURROGATE_EXT_REGISTER
}

}  // namespace surrogate_ext
