// Autograd for every operator, in C++ on the Autograd key, so that scripted models
// differentiate in processes with no Python.
//   op(x, p...)            heaviside(x) forward; backward op_backward(grad, x, p...)
//   op_primitive(x, p...)  g(x) forward;          backward op_primitive_backward(grad, x, p...)
//   op_backward, op_primitive_backward: differentiating them again raises "double backward is
//     not supported" rather than giving a silently wrong value.
//   heaviside(x): not differentiable (like x >= 0): the result never requires grad.

#include <surrogate_ext/ops.h>

#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/autograd.h>

#include <tuple>

namespace surrogate_ext {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

template <class Sig>
c10::TypedOperatorHandle<Sig> find_op(const char* qualified_name) {
  return c10::Dispatcher::singleton().findSchemaOrThrow(qualified_name, "").template typed<Sig>();
}

template <class Tag, class Args = ArgsOf<Tag>>
struct SurrogateAutograd;

template <class Tag, class... A>
struct SurrogateAutograd<Tag, std::tuple<A...>> {
  using Forward = at::Tensor(const at::Tensor&, A...);
  using Backward = at::Tensor(const at::Tensor&, const at::Tensor&, A...);

  // The backward operator of the spiking function (kPrimitive false) or of the primitive.
  template <bool kPrimitive>
  static constexpr const char* backward_name = kPrimitive ? Tag::primitive_backward : Tag::backward;

  // The spiking function (kPrimitive false) or the primitive, differentiated by its backward op.
  template <bool kPrimitive>
  struct Differentiable : torch::autograd::Function<Differentiable<kPrimitive>> {
    static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, A... a) {
      static const auto op = find_op<Forward>(kPrimitive ? Tag::primitive : Tag::spike);
      ctx->save_for_backward({x});
      ctx->saved_data["params"] = std::make_tuple(a...);
      at::AutoDispatchBelowADInplaceOrView guard;
      return op.call(x, a...);
    }
    static variable_list backward(AutogradContext* ctx, variable_list grads) {
      static const auto op = find_op<Backward>(backward_name<kPrimitive>);
      const at::Tensor x = ctx->get_saved_variables()[0];
      const auto params = ctx->saved_data["params"].template to<std::tuple<A...>>();
      const at::Tensor grad_x =
          std::apply([&](A... p) { return op.call(grads[0], x, p...); }, params);
      return {grad_x, (static_cast<void>(sizeof(A)), at::Tensor())...};
    }
  };

  // A backward operator: differentiable once (by its caller), never twice.
  template <bool kPrimitive>
  struct OnceDifferentiable : torch::autograd::Function<OnceDifferentiable<kPrimitive>> {
    static at::Tensor forward(AutogradContext*, const at::Tensor& grad_output, const at::Tensor& x,
                              A... a) {
      static const auto op = find_op<Backward>(backward_name<kPrimitive>);
      at::AutoDispatchBelowADInplaceOrView guard;
      return op.call(grad_output, x, a...);
    }
    static variable_list backward(AutogradContext*, variable_list) {
      TORCH_CHECK(false, backward_name<kPrimitive>, ": double backward is not supported");
      return {};
    }
  };

  // Without a gradient to track, skip the autograd node (its bookkeeping is most of a small
  // call's cost) and call the kernel directly.
  template <bool kPrimitive>
  static at::Tensor forward(const at::Tensor& x, A... a) {
    if (at::GradMode::is_enabled() && x.requires_grad()) {
      return Differentiable<kPrimitive>::apply(x, a...);
    }
    static const auto op = find_op<Forward>(kPrimitive ? Tag::primitive : Tag::spike);
    at::AutoDispatchBelowADInplaceOrView guard;
    return op.call(x, a...);
  }
  static at::Tensor spike(const at::Tensor& x, A... a) { return forward<false>(x, a...); }
  static at::Tensor primitive(const at::Tensor& x, A... a) { return forward<true>(x, a...); }
  static at::Tensor backward(const at::Tensor& g, const at::Tensor& x, A... a) {
    return OnceDifferentiable<false>::apply(g, x, a...);
  }
  static at::Tensor primitive_backward(const at::Tensor& g, const at::Tensor& x, A... a) {
    return OnceDifferentiable<true>::apply(g, x, a...);
  }

  static void register_all(torch::Library& m) {
    m.impl(Tag::spike, TORCH_FN(spike));
    m.impl(Tag::primitive, TORCH_FN(primitive));
    m.impl(Tag::backward, TORCH_FN(backward));
    m.impl(Tag::primitive_backward, TORCH_FN(primitive_backward));
  }
};

at::Tensor heaviside_autograd(const at::Tensor& x) {
  static const auto op = find_op<at::Tensor(const at::Tensor&)>("surrogate_ext::heaviside");
  at::AutoDispatchBelowADInplaceOrView guard;
  return op.call(x);
}

}  // namespace
}  // namespace surrogate_ext

TORCH_LIBRARY_IMPL(surrogate_ext, Autograd, m) {
  m.impl("surrogate_ext::heaviside", TORCH_FN(surrogate_ext::heaviside_autograd));
#define SURROGATE_EXT_REGISTER(op, Functor, params) \
  surrogate_ext::SurrogateAutograd<surrogate_ext::tags::op>::register_all(m);
  SURROGATE_EXT_FOR_EACH_SURROGATE(SURROGATE_EXT_REGISTER)
#undef SURROGATE_EXT_REGISTER
}
