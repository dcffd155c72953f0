#pragma once
// The operators of one surrogate, for one backend, generated from the table in surrogates.h.
//
// For each row X(op, Functor, params) of SURROGATE_EXT_FOR_EACH_SURROGATE there is a tag
// `tags::op` naming the operators and the functor. SurrogateOps<Backend, Tag> turns it into the
// four host functions (checks, then the backend's elementwise map):
//   op(x, p..., *, strict, stochastic, grad_scale)  heaviside(x) (x > 0 when strict); a functor's
//                                                   own spike(x); or, stochastic, Bernoulli(g(x))
//   op_primitive(x, p...)                           g(x)
//   op_backward(grad_output, x, p..., *, grad_scale)  grad_output * grad_scale * g'(x)
//   op_primitive_backward(grad_output, x, p...)     grad_output * (exact derivative of g)(x)
// A Backend provides
//   template <class Fn, template <class> class S, class... A>
//   static at::Tensor map_unary(const at::Tensor& x, A... a);        // Fn(S(a), x)
//   ... map_binary(const at::Tensor& g, const at::Tensor& x, A... a); // g * Fn(S(a), x)
// returning a new contiguous tensor shaped like x.
#include <surrogate_ext/checks.h>
#include <surrogate_ext/surrogates.h>

#include <ATen/ops/bernoulli.h>
#include <torch/library.h>

#include <tuple>

namespace surrogate_ext {

namespace tags {
#define SURROGATE_EXT_DEFINE_TAG(op, Functor, params)                                    \
  struct op {                                                                          \
    template <class T>                                                                 \
    using functor = Functor<T>;                                                        \
    static constexpr const char* name = #op;                                           \
    static constexpr const char* spike = "surrogate_ext::" #op;                        \
    static constexpr const char* primitive = "surrogate_ext::" #op "_primitive";       \
    static constexpr const char* backward = "surrogate_ext::" #op "_backward";         \
    static constexpr const char* primitive_backward =                                  \
        "surrogate_ext::" #op "_primitive_backward";                                   \
  };
SURROGATE_EXT_FOR_EACH_SURROGATE(SURROGATE_EXT_DEFINE_TAG)
#undef SURROGATE_EXT_DEFINE_TAG
}  // namespace tags

template <class Tag>
using ArgsOf = typename Tag::template functor<float>::Args;

// Bernoulli(p), for the stochastic forwards; p must lie in [0, 1].
at::Tensor bernoulli_spikes(const char* op, const at::Tensor& p);

template <class Backend, class Tag, class Args = ArgsOf<Tag>>
struct SurrogateOps;

template <class Backend, class Tag, class... A>
struct SurrogateOps<Backend, Tag, std::tuple<A...>> {
  template <class T>
  using S = typename Tag::template functor<T>;
  template <class T>
  using Scaled = typename ScaledBy<S>::template Functor<T>;
  static constexpr bool kThreshold = !has_spike<S<float>, float>::value;

  static at::Tensor spike(const at::Tensor& x, A... a, bool strict, bool stochastic,
                          double grad_scale) {
    S<float>::check(Tag::name, a...);
    check_finite(Tag::name, "grad_scale", grad_scale);
    check_input(Tag::spike, "x", x);
    if constexpr (kThreshold) {
      if (stochastic) {
        TORCH_CHECK_VALUE(!strict, Tag::spike, ": strict and stochastic exclude each other");
        return bernoulli_spikes(Tag::spike, Backend::template map_unary<PrimitiveOf, S>(x, a...));
      }
      return Backend::template map_unary<PrimitiveOf, Heaviside>(x, strict);
    } else {
      TORCH_CHECK_VALUE(!strict && !stochastic, Tag::spike,
                        ": strict and stochastic apply to threshold forwards only; ", Tag::name,
                        " has a forward of its own");
      return Backend::template map_unary<SpikeOf, S>(x, a...);
    }
  }
  static at::Tensor primitive(const at::Tensor& x, A... a) {
    S<float>::check(Tag::name, a...);
    check_input(Tag::primitive, "x", x);
    return Backend::template map_unary<PrimitiveOf, S>(x, a...);
  }
  static at::Tensor backward(const at::Tensor& grad_output, const at::Tensor& x, A... a,
                             double grad_scale) {
    S<float>::check(Tag::name, a...);
    check_finite(Tag::name, "grad_scale", grad_scale);
    check_grad_output(Tag::backward, grad_output, x);
    return Backend::template map_binary<GradOf, Scaled>(grad_output, x, grad_scale, a...);
  }
  // Where g' is the primitive's exact derivative, the backward's kernel (scale 1) serves both.
  static at::Tensor primitive_backward(const at::Tensor& grad_output, const at::Tensor& x, A... a) {
    S<float>::check(Tag::name, a...);
    check_grad_output(Tag::primitive_backward, grad_output, x);
    if constexpr (has_primitive_grad<S<float>, float>::value) {
      return Backend::template map_binary<PrimitiveGradOf, S>(grad_output, x, a...);
    } else {
      return Backend::template map_binary<GradOf, Scaled>(grad_output, x, 1.0, a...);
    }
  }

  static void register_forward(torch::Library& m) {
    m.impl(Tag::spike, TORCH_FN(spike));
    m.impl(Tag::primitive, TORCH_FN(primitive));
  }
  static void register_backward(torch::Library& m) {
    m.impl(Tag::backward, TORCH_FN(backward));
    m.impl(Tag::primitive_backward, TORCH_FN(primitive_backward));
  }
};

template <class Backend>
at::Tensor heaviside(const at::Tensor& x, bool strict) {
  check_input("surrogate_ext::heaviside", "x", x);
  return Backend::template map_unary<PrimitiveOf, Heaviside>(x, strict);
}

// Registers the forward operators (heaviside, op, op_primitive) of every surrogate.
template <class Backend>
void register_forward_ops(torch::Library& m) {
  m.impl("surrogate_ext::heaviside", TORCH_FN(heaviside<Backend>));
#define SURROGATE_EXT_REGISTER(op, Functor, params) \
  SurrogateOps<Backend, tags::op>::register_forward(m);
  SURROGATE_EXT_FOR_EACH_SURROGATE(SURROGATE_EXT_REGISTER)
#undef SURROGATE_EXT_REGISTER
}

// Registers the backward operators (op_backward, op_primitive_backward) of every surrogate.
template <class Backend>
void register_backward_ops(torch::Library& m) {
#define SURROGATE_EXT_REGISTER(op, Functor, params) \
  SurrogateOps<Backend, tags::op>::register_backward(m);
  SURROGATE_EXT_FOR_EACH_SURROGATE(SURROGATE_EXT_REGISTER)
#undef SURROGATE_EXT_REGISTER
}

}  // namespace surrogate_ext
