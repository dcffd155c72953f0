#pragma once
// The operators of one neuron family (a row of SURROGATE_EXT_FOR_EACH_NEURON, neurons.h), for one
// backend. With s the family's states (v, then the table's extra states w, ...):
//   NAME_multistep(x_seq, s_init..., <family arguments>, surrogate, surrogate_params, *, strict,
//                  grad_scale) -> (spike_seq, v_seq, v[, w_seq, w, ...])
//   NAME_multistep_backward(grad_spike_seq, grad_v_seq?, grad_v?[, grad_w_seq?, grad_w?, ...], x_seq,
//                  s_init..., s_seq..., <family arguments>, ..., output_mask=None) -> (grad_x_seq,
//                  grad_s_init..., grad_<tensor argument>...)
//   NAME_step(x, s..., <family arguments>, ...) -> (spike, v_next[, w_next, ...])
//   NAME_step_backward(grad_spike, grad_v_next?[, grad_w_next?, ...], x, s..., <family arguments>, ...,
//                  output_mask=None) -> (grad_x, grad_s..., grad_<tensor argument>...)
// The multi-step operators run T steps on x_seq [T, ...] (the states have x_seq[0]'s shape); v_seq
// holds every step's state, v the last (v_init when T = 0), a tensor of its own so that a caller
// keeping only the state gives the backward a one-step gradient. The step operators are one step
// of the same kernels, for models that loop over time themselves. `surrogate` names any row of
// surrogates.h, with its parameters in surrogate_params; strict fires on u > 0; grad_scale
// multiplies the surrogate gradient. A family's tensor arguments (PLIF's w, KLIF's k) hold one
// value or one per neuron (broadcastable to the states' shape); their gradients are summed over
// neurons in double, serially on the CPU, so they are the same bits for any thread count. A
// backward's output_mask (one bool per output, as ATen's backwards take it; the autograd kernel
// passes which inputs need a gradient) skips the tensor arguments' gradients when it wants none of
// them: they are returned as zeros, uncomputed (the inputs' and states' gradients are always
// computed). Per step and a million neurons, those sums cost as much as the rest of the backward.
//
// The host side (checks, contiguous inputs, new outputs, dtype dispatch, the parameters' sums) is
// here, once; a Backend provides where the outputs live and the loops:
//   using Guard = ...;                                       // RAII, constructed from a Device
//   static at::Tensor new_sequence(const at::Tensor& like);  // an uninitialised output like `like`
//   static at::Tensor total_to(const at::Tensor& partial, at::IntArrayRef shape);
//                          // partial (the neurons' shape, opmath) summed to `shape`, in double
//   template <class scalar_t, class F> static void forward(const ForwardArgs<scalar_t, F>&);
//   template <class scalar_t, class F>
//   static void backward(const BackwardArgs<scalar_t, F>&, const SurrogateChoice&);

#include <surrogate_ext/checks.h>
#include <surrogate_ext/dispatch.h>
#include <surrogate_ext/neuron.h>
#include <surrogate_ext/neurons.h>
#include <surrogate_ext/surrogate_choice.h>

#include <ATen/core/List.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/util/ArrayRef.h>
#include <c10/util/Optional.h>
#include <c10/util/string_view.h>
#include <torch/library.h>

#include <array>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace surrogate_ext {

namespace tags {
#define SURROGATE_EXT_DEFINE_NEURON_TAG(name, Functor, extra_states, params)              \
  struct Functor##Operators {                                                            \
    template <class T>                                                                   \
    using family = Functor<T>;                                                           \
    static constexpr const char* multistep = "surrogate_ext::" #name "_multistep";       \
    static constexpr const char* multistep_backward =                                    \
        "surrogate_ext::" #name "_multistep_backward";                                   \
    static constexpr const char* step = "surrogate_ext::" #name "_step";                 \
    static constexpr const char* step_backward = "surrogate_ext::" #name "_step_backward"; \
    static constexpr const char* extra = extra_states;                                   \
  };
SURROGATE_EXT_FOR_EACH_NEURON(SURROGATE_EXT_DEFINE_NEURON_TAG)
#undef SURROGATE_EXT_DEFINE_NEURON_TAG
}  // namespace tags

// An argument as the registered function takes it: tensors by const reference.
template <class A>
using ArgParam = std::conditional_t<std::is_same_v<A, at::Tensor>, const at::Tensor&, A>;

// T, whatever the index: repeats a type over a pack of indices. A struct, not an alias template:
// nvcc's front end loses the pack of an alias template that ignores its parameter.
template <size_t, class T>
struct Same {
  using type = T;
};

// A tuple of n tensors (an operator's outputs).
template <class Seq>
struct TensorTupleOf;
template <size_t... I>
struct TensorTupleOf<std::index_sequence<I...>> {
  using type = std::tuple<typename Same<I, at::Tensor>::type...>;
  static type from(const std::vector<at::Tensor>& v) { return type(v[I]...); }
};
template <size_t n>
using TensorTuple = TensorTupleOf<std::make_index_sequence<n>>;

// A tensor that must match `like` in shape, dtype and device.
inline void check_like(const char* op, const char* name, const at::Tensor& t, at::IntArrayRef shape,
                       const at::Tensor& like) {
  check_input(op, name, t);
  TORCH_CHECK_VALUE(t.sizes() == shape, op, ": ", name, " must have shape ", shape, ", got ",
                    t.sizes());
  TORCH_CHECK_TYPE(t.scalar_type() == like.scalar_type(), op, ": ", name, " must have dtype ",
                   like.scalar_type(), ", got ", t.scalar_type());
  TORCH_CHECK(t.device() == like.device(), op, ": ", name, " must be on device ", like.device(),
              ", got ", t.device());
}

inline bool given(const c10::optional<at::Tensor>& t) { return t.has_value() && t->defined(); }

template <class T>
const T* ptr_or_null(const at::Tensor& t) {
  return t.defined() ? t.const_data_ptr<T>() : nullptr;
}

// A tensor parameter as the kernels read it: its values in the opmath type, one for every neuron
// (stride 0) or expanded to the neurons' shape.
struct LaneTensor {
  at::Tensor values;
  bool per_neuron;

  template <class T>
  ParamLanes<T> lanes() const {
    return ParamLanes<T>{values.const_data_ptr<T>(), per_neuron ? int64_t(1) : int64_t(0)};
  }
};

inline LaneTensor lane_tensor(const char* op, const char* name, const at::Tensor& p,
                              at::IntArrayRef neurons, const at::Tensor& x) {
  check_input(op, name, p);
  TORCH_CHECK(p.device() == x.device(), op, ": ", name, " must be on the device of x, ",
              x.device(), ", got ", p.device());
  const auto opmath = at::toOpMathType(x.scalar_type());
  if (p.numel() == 1 && p.dim() <= static_cast<int64_t>(neurons.size())) {
    return {p.reshape({1}).to(opmath).contiguous(), false};
  }
  bool broadcasts = p.dim() <= static_cast<int64_t>(neurons.size());
  for (int64_t d = 1; broadcasts && d <= p.dim(); ++d) {  // trailing dimensions: 1 or the neurons'
    const int64_t size = p.size(-d);
    broadcasts = size == 1 || size == neurons[neurons.size() - d];
  }
  TORCH_CHECK_VALUE(broadcasts, op, ": ", name,
                    " must hold one value or be broadcastable to the neurons' shape ", neurons,
                    ", got shape ", p.sizes());
  return {p.to(opmath).expand(neurons).contiguous(), true};
}

template <class Backend, class Tag, class Args = typename Tag::template family<float>::Args>
struct NeuronOps;

template <class Backend, class Tag, class... A>
struct NeuronOps<Backend, Tag, std::tuple<A...>> {
  template <class T>
  using F = typename Tag::template family<T>;
  static constexpr int S = F<float>::kStates, P = F<float>::kParams;
  static constexpr size_t kTensorArgs = (size_t(0) + ... + size_t(std::is_same_v<A, at::Tensor>));
  using States = std::array<at::Tensor, S>;
  using OptionalStates = std::array<c10::optional<at::Tensor>, S>;
  using OutputMask = c10::optional<c10::List<bool>>;

  // "v" or the k-th of the extra states' names, with a suffix ("_init", "_seq", ...)
  static std::string state_name(int k, const char* suffix = "") {
    return neuron_state_names(Tag::extra)[static_cast<size_t>(k)] + suffix;
  }

  static void check_states(const char* op, bool multistep, const at::Tensor& x,
                           at::IntArrayRef neurons, const States& states) {
    for (int k = 0; k < S; ++k) {
      check_like(op, state_name(k, multistep ? "_init" : "").c_str(), states[k], neurons, x);
    }
  }

  static std::array<LaneTensor, P> prepare_lanes(const char* op, const at::Tensor& x,
                                                 at::IntArrayRef neurons, ArgParam<A>... a) {
    const std::array<at::Tensor, P> raw = F<float>::lanes(a...);
    std::array<LaneTensor, P> lanes;
    for (int k = 0; k < P; ++k) lanes[k] = lane_tensor(op, F<float>::lane_name(k), raw[k], neurons, x);
    return lanes;
  }

  // The forward of T steps (multistep) or of one (step: x has the states' shape).
  static std::vector<at::Tensor> run_forward(const char* op, bool multistep, const at::Tensor& x_in,
                                             const States& states_in, ArgParam<A>... a, c10::string_view surrogate,
                                             c10::ArrayRef<double> surrogate_params, bool strict,
                                             double grad_scale) {
    F<float>::check(op, a...);
    const SurrogateChoice choice = choose_surrogate(op, surrogate, surrogate_params, strict, grad_scale);
    check_input(op, multistep ? "x_seq" : "x", x_in);
    TORCH_CHECK_VALUE(!multistep || x_in.dim() >= 1, op,
                      ": x_seq must have shape [T, ...], got a 0-d tensor");
    const at::IntArrayRef neurons = multistep ? x_in.sizes().slice(1) : x_in.sizes();
    check_states(op, multistep, x_in, neurons, states_in);
    const typename Backend::Guard guard(x_in.device());
    const std::array<LaneTensor, P> lanes = prepare_lanes(op, x_in, neurons, a...);
    const at::Tensor x = x_in.contiguous();
    States init;
    for (int k = 0; k < S; ++k) init[k] = states_in[k].contiguous();
    at::Tensor spike = Backend::new_sequence(x);
    States seq, last;
    for (int k = 0; k < S; ++k) {
      seq[k] = Backend::new_sequence(x);
      if (multistep) last[k] = at::empty(init[k].sizes(), init[k].options());
    }
    const int64_t steps = multistep ? x.size(0) : 1, N = init[0].numel();
    if (N > 0) {  // T = 0 too: the kernels then store the initial states as the last ones
      SURROGATE_EXT_DISPATCH_FLOATING(x.scalar_type(), [&] {
        using T = at::opmath_type<scalar_t>;
        ForwardArgs<scalar_t, F<T>> args{F<T>(a...), make_fire<T>(choice), steps, N,
                                         x.const_data_ptr<scalar_t>(), {}, spike.mutable_data_ptr<scalar_t>(),
                                         {}, {}, {}};
        for (int k = 0; k < S; ++k) {
          args.init[k] = init[k].template const_data_ptr<scalar_t>();
          args.seq[k] = seq[k].template mutable_data_ptr<scalar_t>();
          args.last[k] = multistep ? last[k].template mutable_data_ptr<scalar_t>() : nullptr;
        }
        for (int k = 0; k < P; ++k) args.p[k] = lanes[k].template lanes<T>();
        Backend::forward(args);
      });
    }
    std::vector<at::Tensor> out{spike};
    for (int k = 0; k < S; ++k) {
      out.push_back(seq[k]);
      if (multistep) out.push_back(last[k]);
    }
    return out;
  }

  // Whether output_mask (None: every output) wants a gradient of a tensor argument.
  static bool wants_argument_gradients(const char* op, const OutputMask& mask) {
    if (!mask.has_value()) return true;
    TORCH_CHECK_VALUE(mask->size() == static_cast<size_t>(1 + S + kTensorArgs), op,
                      ": output_mask must have one value per output, ", 1 + S + kTensorArgs,
                      ", got ", mask->size());
    bool any = false;
    for (size_t k = 1 + S; k < mask->size(); ++k) any = any || mask->get(k);
    return any;
  }

  static std::vector<at::Tensor> run_backward(const char* op, bool multistep,
                                              const at::Tensor& grad_spike_in,
                                              const OptionalStates& grad_seq_in,
                                              const OptionalStates& grad_last_in,
                                              const at::Tensor& x_in, const States& init_in,
                                              const States& seq_in, ArgParam<A>... a, c10::string_view surrogate,
                                              c10::ArrayRef<double> surrogate_params, bool strict,
                                              double grad_scale, const OutputMask& output_mask) {
    F<float>::check(op, a...);
    const bool argument_gradients = kTensorArgs > 0 && wants_argument_gradients(op, output_mask);
    const SurrogateChoice choice = choose_surrogate(op, surrogate, surrogate_params, strict, grad_scale);
    check_input(op, multistep ? "x_seq" : "x", x_in);
    TORCH_CHECK_VALUE(!multistep || x_in.dim() >= 1, op,
                      ": x_seq must have shape [T, ...], got a 0-d tensor");
    const at::IntArrayRef neurons = multistep ? x_in.sizes().slice(1) : x_in.sizes();
    check_states(op, multistep, x_in, neurons, init_in);
    check_like(op, multistep ? "grad_spike_seq" : "grad_spike", grad_spike_in, x_in.sizes(), x_in);
    for (int k = 0; k < S; ++k) {
      if (multistep) check_like(op, state_name(k, "_seq").c_str(), seq_in[k], x_in.sizes(), x_in);
      if (given(grad_seq_in[k])) {
        check_like(op, ("grad_" + state_name(k, "_seq")).c_str(), *grad_seq_in[k], x_in.sizes(), x_in);
      }
      if (given(grad_last_in[k])) {
        check_like(op, ("grad_" + state_name(k, multistep ? "" : "_next")).c_str(), *grad_last_in[k],
                   neurons, x_in);
      }
    }
    const typename Backend::Guard guard(x_in.device());
    const std::array<LaneTensor, P> lanes = prepare_lanes(op, x_in, neurons, a...);
    const at::Tensor x = x_in.contiguous(), grad_spike = grad_spike_in.contiguous();
    States init, seq, grad_seq, grad_last, grad_init;
    for (int k = 0; k < S; ++k) {
      init[k] = init_in[k].contiguous();
      if (multistep) seq[k] = seq_in[k].contiguous();
      if (given(grad_seq_in[k])) grad_seq[k] = grad_seq_in[k]->contiguous();
      if (given(grad_last_in[k])) grad_last[k] = grad_last_in[k]->contiguous();
      grad_init[k] = at::empty(init[k].sizes(), init[k].options());
    }
    at::Tensor grad_x = Backend::new_sequence(x);
    std::array<at::Tensor, P> partial;
    for (int k = 0; k < P && argument_gradients; ++k) {
      partial[k] = at::zeros(neurons, x.options().dtype(at::toOpMathType(x.scalar_type())));
    }
    const int64_t steps = multistep ? x.size(0) : 1, N = init[0].numel();
    if (N > 0) {  // T = 0 too: the kernels store the initial carries as the initial states' gradients
      SURROGATE_EXT_DISPATCH_FLOATING(x.scalar_type(), [&] {
        using T = at::opmath_type<scalar_t>;
        BackwardArgs<scalar_t, F<T>> args{F<T>(a...), make_fire<T>(choice), steps, N,
                                          grad_spike.const_data_ptr<scalar_t>(), {}, {},
                                          x.const_data_ptr<scalar_t>(), {}, {},
                                          grad_x.mutable_data_ptr<scalar_t>(), {}, {}, {}};
        for (int k = 0; k < S; ++k) {
          args.grad_seq[k] = ptr_or_null<scalar_t>(grad_seq[k]);
          args.grad_last[k] = ptr_or_null<scalar_t>(grad_last[k]);
          args.init[k] = init[k].template const_data_ptr<scalar_t>();
          args.seq[k] = ptr_or_null<scalar_t>(seq[k]);
          args.grad_init[k] = grad_init[k].template mutable_data_ptr<scalar_t>();
        }
        for (int k = 0; k < P; ++k) {
          args.p[k] = lanes[k].template lanes<T>();
          args.grad_p[k] = argument_gradients ? partial[k].template mutable_data_ptr<T>() : nullptr;
        }
        Backend::backward(args, choice);
      });
    }
    std::vector<at::Tensor> out{grad_x};
    for (int k = 0; k < S; ++k) out.push_back(grad_init[k]);
    if constexpr (kTensorArgs > 0) {
      const std::vector<at::Tensor> tensor_args = tensor_arguments(a...);
      if (!argument_gradients) {
        for (const at::Tensor& t : tensor_args) out.push_back(at::zeros(t.sizes(), t.options()));
        return out;
      }
      const std::array<at::Tensor, P> raw = F<float>::lanes(a...);
      std::array<at::Tensor, P> grads;
      for (int k = 0; k < P; ++k) {
        const at::Tensor total = Backend::total_to(partial[k], lanes[k].per_neuron ? raw[k].sizes() : at::IntArrayRef{});
        grads[k] = total.reshape(raw[k].sizes());
      }
      const std::vector<at::Tensor> arg_grads = F<float>::gradients(grads, raw, a...);
      for (size_t k = 0; k < kTensorArgs; ++k) {
        out.push_back(arg_grads[k].to(tensor_args[k].scalar_type()).reshape(tensor_args[k].sizes()));
      }
    }
    return out;
  }

  template <class... B>
  static std::vector<at::Tensor> tensor_arguments(const B&... b) {
    std::vector<at::Tensor> out;
    (
        [&] {
          if constexpr (std::is_same_v<B, at::Tensor>) out.push_back(b);
        }(),
        ...);
    return out;
  }

  // --- the registered functions, for S states: their tensors are positional arguments --------
  using OptionalTensor = c10::optional<at::Tensor>;

  template <class States_, class Grads_>
  struct Registered;

  template <size_t... I, size_t... J>
  struct Registered<std::index_sequence<I...>, std::index_sequence<J...>> {
    static typename TensorTuple<1 + 2 * S>::type multistep(
        const at::Tensor& x_seq, typename Same<I, const at::Tensor&>::type... init, ArgParam<A>... a,
        c10::string_view surrogate, c10::ArrayRef<double> sp, bool strict, double grad_scale) {
      return TensorTuple<1 + 2 * S>::from(run_forward(Tag::multistep, true, x_seq, States{init...},
                                                      a..., surrogate, sp, strict, grad_scale));
    }
    // the gradients of the outputs come in pairs: (grad_v_seq, grad_v, grad_w_seq, grad_w, ...)
    static typename TensorTuple<1 + S + kTensorArgs>::type multistep_backward(
        const at::Tensor& grad_spike_seq, typename Same<J, const OptionalTensor&>::type... grads,
        const at::Tensor& x_seq, typename Same<I, const at::Tensor&>::type... init,
        typename Same<I, const at::Tensor&>::type... seq, ArgParam<A>... a, c10::string_view surrogate,
        c10::ArrayRef<double> sp, bool strict, double grad_scale, const OutputMask& output_mask) {
      const std::array<OptionalTensor, 2 * S> g{grads...};
      return TensorTuple<1 + S + kTensorArgs>::from(run_backward(
          Tag::multistep_backward, true, grad_spike_seq, OptionalStates{g[2 * I]...},
          OptionalStates{g[2 * I + 1]...}, x_seq, States{init...}, States{seq...}, a..., surrogate,
          sp, strict, grad_scale, output_mask));
    }
    static typename TensorTuple<1 + S>::type step(const at::Tensor& x, typename Same<I, const at::Tensor&>::type... state,
                                                  ArgParam<A>... a, c10::string_view surrogate,
                                                  c10::ArrayRef<double> sp, bool strict,
                                                  double grad_scale) {
      return TensorTuple<1 + S>::from(run_forward(Tag::step, false, x, States{state...}, a...,
                                                  surrogate, sp, strict, grad_scale));
    }
    static typename TensorTuple<1 + S + kTensorArgs>::type step_backward(
        const at::Tensor& grad_spike, typename Same<I, const OptionalTensor&>::type... grad_next, const at::Tensor& x,
        typename Same<I, const at::Tensor&>::type... state, ArgParam<A>... a, c10::string_view surrogate,
        c10::ArrayRef<double> sp, bool strict, double grad_scale, const OutputMask& output_mask) {
      return TensorTuple<1 + S + kTensorArgs>::from(run_backward(
          Tag::step_backward, false, grad_spike, OptionalStates{}, OptionalStates{grad_next...}, x,
          States{state...}, States{}, a..., surrogate, sp, strict, grad_scale, output_mask));
    }
  };
  using Functions = Registered<std::make_index_sequence<S>, std::make_index_sequence<2 * S>>;

  static void register_kernels(torch::Library& m) {
    m.impl(Tag::multistep, TORCH_FN(Functions::multistep));
    m.impl(Tag::multistep_backward, TORCH_FN(Functions::multistep_backward));
    m.impl(Tag::step, TORCH_FN(Functions::step));
    m.impl(Tag::step_backward, TORCH_FN(Functions::step_backward));
  }
};

// Registers the operators of every neuron family.
template <class Backend>
void register_neuron_ops(torch::Library& m) {
#define SURROGATE_EXT_REGISTER(name, Functor, extra_states, params) \
  NeuronOps<Backend, tags::Functor##Operators>::register_kernels(m);
  SURROGATE_EXT_FOR_EACH_NEURON(SURROGATE_EXT_REGISTER)
#undef SURROGATE_EXT_REGISTER
}

}  // namespace surrogate_ext
