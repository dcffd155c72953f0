#pragma once
// The fused multi-step neuron operators of one surrogate, for one backend, generated from the
// table in surrogates.h (see neuron.h for the dynamics):
//   op_multistep_node(x_seq, v_init, neuron, tau, plif_k, decay_input, v_threshold, v_reset,
//                     detach_reset, p..., *, strict, grad_scale) -> (spike_seq, v_seq, v)
//   op_multistep_node_backward(grad_spike_seq, grad_v_seq?, grad_v?, x_seq, v_init, v_seq,
//                     neuron, tau, plif_k, decay_input, v_threshold, v_reset, detach_reset, p...,
//                     *, strict, grad_scale) -> (grad_x_seq, grad_v_init, grad_plif_k)
// v is the state after the last step: the values of v_seq[T-1] (v_init when T = 0) in a tensor of
// its own, so that a caller keeping only the state (the modules with store_v_seq=False) gives the
// backward an [N] gradient rather than a [T, N] one.
// strict fires on h - v_threshold > 0; grad_scale multiplies the surrogate gradient.
// neuron is "if", "lif" (uses tau) or "plif" (uses plif_k = sigmoid(w), a one-element tensor;
// named so that no surrogate parameter (LeakyKReLU's k) can clash with it).
//
// The host side (checks, contiguous inputs, new outputs, dtype dispatch, the sum of grad_k) is
// here, once; a Backend provides only where the outputs live and the loop over neurons:
//   using Guard = ...;                                    // RAII, constructed from a Device
//   static at::Tensor new_sequence(const at::Tensor& like);  // an uninitialised [T, ...] output
//   static at::Tensor total(const at::Tensor& partial);     // the sum of grad_k's partials, 0-d
//   template <class scalar_t, class T> static void forward(const ForwardArgs<scalar_t, T>&);
//   template <class scalar_t, class T, class S>
//   static void backward(const BackwardArgs<scalar_t, T>&, const S& surrogate);

#include <surrogate_ext/checks.h>
#include <surrogate_ext/dispatch.h>
#include <surrogate_ext/neuron.h>
#include <surrogate_ext/ops.h>

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/sum.h>
#include <ATen/ops/zeros.h>
#include <c10/util/Optional.h>
#include <c10/util/string_view.h>
#include <torch/library.h>

#include <cmath>
#include <string>
#include <tuple>

namespace surrogate_ext {

// The host side of NeuronParams: the operator's arguments, checked once.
struct NeuronConfig {
  NeuronKind kind;
  bool decay_input, reset_is_zero, hard_reset, detach_reset, strict = false;
  double tau = 1, k = 1, keep = 1, v_threshold, v_reset = 0;

  template <class T>
  NeuronParams<T> params() const {
    return NeuronParams<T>{kind, decay_input, reset_is_zero, hard_reset, detach_reset, strict,
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
                                       bool detach_reset, bool strict) {
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
                      ": plif_k must be a one-element tensor for neuron 'plif'");
    check_input(op, "plif_k", *k);
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
  c.strict = strict;
  TORCH_CHECK_VALUE(std::isfinite(v_threshold), op, ": v_threshold must be finite, got ", v_threshold);
  TORCH_CHECK_VALUE(!v_reset.has_value() || std::isfinite(*v_reset), op,
                    ": v_reset must be finite or None, got ", c.v_reset);
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

// A tensor that must match `like` (x_seq for a [T, ...] one, v_init for one step) in shape, dtype
// and device.
inline void check_like(const char* op, const char* name, const at::Tensor& t,
                       const at::Tensor& like) {
  TORCH_CHECK_VALUE(t.sizes() == like.sizes(), op, ": ", name, " must have shape ", like.sizes(),
                    ", got ", t.sizes());
  TORCH_CHECK_TYPE(t.scalar_type() == like.scalar_type(), op, ": ", name, " must have dtype ",
                   like.scalar_type(), ", got ", t.scalar_type());
  TORCH_CHECK(t.device() == like.device(), op, ": ", name, " must be on device ", like.device(),
              ", got ", t.device());
}

template <class T>
const T* ptr_or_null(const at::Tensor& t) {
  return t.defined() ? t.const_data_ptr<T>() : nullptr;
}

namespace tags {
#define SURROGATE_EXT_DEFINE_NEURON_TAG(op, Functor, params)                          \
  struct op##_multistep_node {                                                        \
    using surrogate = tags::op;                                                       \
    static constexpr const char* forward = "surrogate_ext::" #op "_multistep_node";   \
    static constexpr const char* backward =                                           \
        "surrogate_ext::" #op "_multistep_node_backward";                             \
  };
SURROGATE_EXT_FOR_EACH_THRESHOLD_SURROGATE(SURROGATE_EXT_DEFINE_NEURON_TAG)
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
  template <class T>
  using Scaled = typename ScaledBy<S>::template Functor<T>;

  static TensorTriple forward(const at::Tensor& x_in, const at::Tensor& v_in,
                              c10::string_view neuron, double tau,
                              const c10::optional<at::Tensor>& k, bool decay_input,
                              double v_threshold, c10::optional<double> v_reset, bool detach_reset,
                              A... a, bool strict, double grad_scale) {
    S<float>::check(Surrogate::name, a...);
    check_finite(Surrogate::name, "grad_scale", grad_scale);
    check_sequence(Tag::forward, x_in, v_in);
    const NeuronConfig c = make_neuron_config(Tag::forward, neuron, tau, k, decay_input,
                                              v_threshold, v_reset, detach_reset, strict);
    const typename Backend::Guard guard(x_in.device());
    const at::Tensor x_seq = x_in.contiguous(), v_init = v_in.contiguous();
    at::Tensor spike_seq = Backend::new_sequence(x_seq), v_seq = Backend::new_sequence(x_seq);
    at::Tensor v = at::empty(v_init.sizes(), v_init.options());
    if (v_init.numel() > 0) {  // T = 0 too: the kernels then store v_init as v
      SURROGATE_EXT_DISPATCH_FLOATING(x_seq.scalar_type(), [&] {
        using opmath_t = at::opmath_type<scalar_t>;
        Backend::forward(ForwardArgs<scalar_t, opmath_t>{
            c.params<opmath_t>(), x_seq.size(0), v_init.numel(), x_seq.const_data_ptr<scalar_t>(),
            v_init.const_data_ptr<scalar_t>(), spike_seq.mutable_data_ptr<scalar_t>(),
            v_seq.mutable_data_ptr<scalar_t>(), v.mutable_data_ptr<scalar_t>()});
      });
    }
    return {spike_seq, v_seq, v};
  }

  static TensorTriple backward(const at::Tensor& grad_spike_in,
                               const c10::optional<at::Tensor>& grad_v_seq_in,
                               const c10::optional<at::Tensor>& grad_v_in, const at::Tensor& x_in,
                               const at::Tensor& v_init_in,
                               const at::Tensor& v_seq_in, c10::string_view neuron, double tau,
                               const c10::optional<at::Tensor>& k, bool decay_input,
                               double v_threshold, c10::optional<double> v_reset,
                               bool detach_reset, A... a, bool strict, double grad_scale) {
    S<float>::check(Surrogate::name, a...);
    check_finite(Surrogate::name, "grad_scale", grad_scale);
    check_sequence(Tag::backward, x_in, v_init_in);
    check_like(Tag::backward, "grad_spike_seq", grad_spike_in, x_in);
    check_like(Tag::backward, "v_seq", v_seq_in, x_in);
    const bool has_grad_v_seq = grad_v_seq_in.has_value() && grad_v_seq_in->defined();
    if (has_grad_v_seq) check_like(Tag::backward, "grad_v_seq", *grad_v_seq_in, x_in);
    const bool has_grad_v = grad_v_in.has_value() && grad_v_in->defined();
    if (has_grad_v) check_like(Tag::backward, "grad_v", *grad_v_in, v_init_in);
    const NeuronConfig c = make_neuron_config(Tag::backward, neuron, tau, k, decay_input,
                                              v_threshold, v_reset, detach_reset, strict);
    const bool k_grad = c.kind == NeuronKind::PLIF;

    const typename Backend::Guard guard(x_in.device());
    const at::Tensor grad_spike_seq = grad_spike_in.contiguous(), x_seq = x_in.contiguous(),
                     v_init = v_init_in.contiguous(), v_seq = v_seq_in.contiguous();
    const at::Tensor grad_v_seq = has_grad_v_seq ? grad_v_seq_in->contiguous() : at::Tensor();
    const at::Tensor grad_v = has_grad_v ? grad_v_in->contiguous() : at::Tensor();
    at::Tensor grad_x_seq = Backend::new_sequence(x_seq);
    at::Tensor grad_v_init = at::empty(v_init.sizes(), v_init.options());
    at::Tensor grad_k_partial;
    if (k_grad) {
      const auto opmath_dtype = at::toOpMathType(x_seq.scalar_type());
      grad_k_partial = at::zeros(v_init.sizes(), x_seq.options().dtype(opmath_dtype));
    }
    const int64_t steps = x_seq.size(0), N = v_init.numel();
    if (N > 0) {  // T = 0 too: the kernels store the initial carry (grad_v or 0) as grad_v_init
      SURROGATE_EXT_DISPATCH_FLOATING(x_seq.scalar_type(), [&] {
        using opmath_t = at::opmath_type<scalar_t>;
        const auto p = c.params<opmath_t>();
        Backend::backward(
            BackwardArgs<scalar_t, opmath_t>{
                p, p.dh_dx(), p.dh_dv(), steps, N, grad_spike_seq.const_data_ptr<scalar_t>(),
                ptr_or_null<scalar_t>(grad_v_seq), ptr_or_null<scalar_t>(grad_v),
                x_seq.const_data_ptr<scalar_t>(),
                v_init.const_data_ptr<scalar_t>(), v_seq.const_data_ptr<scalar_t>(),
                grad_x_seq.mutable_data_ptr<scalar_t>(), grad_v_init.mutable_data_ptr<scalar_t>(),
                k_grad ? grad_k_partial.mutable_data_ptr<opmath_t>() : nullptr},
            Scaled<opmath_t>(grad_scale, a...));
      });
    }
    at::Tensor grad_k = k_grad ? Backend::total(grad_k_partial).to(k->scalar_type()).reshape(k->sizes())
                               : at::zeros({}, x_seq.options());
    return {grad_x_seq, grad_v_init, grad_k};
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
  SURROGATE_EXT_FOR_EACH_THRESHOLD_SURROGATE(SURROGATE_EXT_REGISTER)
#undef SURROGATE_EXT_REGISTER
}

}  // namespace surrogate_ext
