#pragma once
// A surrogate chosen at run time, by its table name and a list of parameter values: how the
// neuron operators take any row of surrogates.h (`str surrogate, float[] surrogate_params`). The
// neuron kernels are compiled once per neuron family; a backend evaluates the chosen row's
// gradient through visit_surrogate(), which instantiates that evaluation once per row.

#include <surrogate_ext/checks.h>
#include <surrogate_ext/neuron.h>
#include <surrogate_ext/ops.h>
#include <surrogate_ext/surrogates.h>

#include <c10/util/ArrayRef.h>
#include <c10/util/Exception.h>
#include <c10/util/string_view.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace surrogate_ext {

struct SurrogateChoice {
  int row;     // in SURROGATE_EXT_FOR_EACH_SURROGATE
  int own;     // 0 for a threshold row, k for the k-th row of SURROGATE_EXT_FOR_EACH_OTHER_SURROGATE
  bool strict;
  double grad_scale;
  std::vector<double> params;
};

// Calls fn(tags::<op>{}) for the row `row` of SURROGATE_EXT_FOR_EACH_SURROGATE.
template <class Fn>
decltype(auto) visit_surrogate(int row, Fn&& fn) {
  int k = 0;
#define SURROGATE_EXT_VISIT(op, Functor, params) \
  if (row == k++) return fn(tags::op{});
  SURROGATE_EXT_FOR_EACH_SURROGATE(SURROGATE_EXT_VISIT)
#undef SURROGATE_EXT_VISIT
  TORCH_CHECK(false, "surrogate_ext: no surrogate row ", row);
  return fn(tags::atan{});  // not reached
}

namespace detail {
inline int count_threshold_rows() {
  int n = 0;
#define SURROGATE_EXT_COUNT(op, Functor, params) ++n;
  SURROGATE_EXT_FOR_EACH_THRESHOLD_SURROGATE(SURROGATE_EXT_COUNT)
#undef SURROGATE_EXT_COUNT
  return n;
}

inline std::string surrogate_names() {
  std::string names;
#define SURROGATE_EXT_NAME(op, Functor, params) names += (names.empty() ? "" : ", ") + std::string(#op);
  SURROGATE_EXT_FOR_EACH_SURROGATE(SURROGATE_EXT_NAME)
#undef SURROGATE_EXT_NAME
  return names;
}

// A parameter value of the row's type: double as given; int64_t when the value is an integer.
template <class A>
A convert_param([[maybe_unused]] const char* op, [[maybe_unused]] c10::string_view surrogate,
                [[maybe_unused]] size_t i, double value) {
  if constexpr (std::is_same_v<A, int64_t>) {
    TORCH_CHECK_VALUE(std::isfinite(value) && value == std::floor(value) && std::abs(value) < 9e15, op,
                      ": surrogate_params[", i, "] of ", std::string(surrogate),
                      " must be an integer, got ", value);
    return static_cast<int64_t>(value);
  } else {
    return static_cast<A>(value);
  }
}

template <class... A, size_t... I>
std::tuple<A...> convert_params([[maybe_unused]] const char* op, [[maybe_unused]] c10::string_view surrogate,
                                const std::vector<double>& values, std::tuple<A...>*,
                                std::index_sequence<I...>) {
  return std::tuple<A...>(convert_param<A>(op, surrogate, I, values[I])...);
}
}  // namespace detail

// The row's parameters as its functor takes them.
template <class Tag>
ArgsOf<Tag> surrogate_args(const SurrogateChoice& c) {
  using Args = ArgsOf<Tag>;
  return detail::convert_params("surrogate_ext", Tag::name, c.params, static_cast<Args*>(nullptr),
                                std::make_index_sequence<std::tuple_size_v<Args>>());
}

// The row named `name`, its parameters checked (ValueError naming the operator and the parameter).
inline SurrogateChoice choose_surrogate(const char* op, c10::string_view name,
                                        c10::ArrayRef<double> params, bool strict,
                                        double grad_scale) {
  SurrogateChoice c{-1, 0, strict, grad_scale, params.vec()};
  int k = 0;
#define SURROGATE_EXT_FIND(op_name, Functor, schema) \
  if (name == #op_name) c.row = k;                   \
  ++k;
  SURROGATE_EXT_FOR_EACH_SURROGATE(SURROGATE_EXT_FIND)
#undef SURROGATE_EXT_FIND
  TORCH_CHECK_VALUE(c.row >= 0, op, ": surrogate must be one of ", detail::surrogate_names(),
                    "; got '", std::string(name), "'");
  const int threshold_rows = detail::count_threshold_rows();
  c.own = c.row < threshold_rows ? 0 : c.row - threshold_rows + 1;
  check_finite(op, "grad_scale", grad_scale);
  visit_surrogate(c.row, [&](auto tag) {
    using Tag = decltype(tag);
    using Args = ArgsOf<Tag>;
    TORCH_CHECK_VALUE(params.size() == std::tuple_size_v<Args>, op, ": surrogate ", Tag::name,
                      " takes ", std::tuple_size_v<Args>, " parameter(s) in surrogate_params, got ",
                      params.size());
    const Args args = detail::convert_params(op, name, c.params, static_cast<Args*>(nullptr),
                                             std::make_index_sequence<std::tuple_size_v<Args>>());
    std::apply([&](auto... a) { Tag::template functor<float>::check(Tag::name, a...); }, args);
    return 0;
  });
  TORCH_CHECK_VALUE(!(strict && c.own != 0), op, ": strict applies to threshold forwards only; ",
                    std::string(name), " has a forward of its own");
  return c;
}

// The fire rule of the choice: heaviside (strict or not), or the row's own spike.
template <class T>
Fire<T> make_fire(const SurrogateChoice& c) {
  Fire<T> fire;
  fire.own = c.own;
  fire.strict = c.strict;
  if (c.own != 0) {
    visit_surrogate(c.row, [&](auto tag) {
      using Tag = decltype(tag);
#define SURROGATE_EXT_SET_OWN(op, Functor, params)                                                 \
  if constexpr (std::is_same_v<Tag, tags::op>) {                                                   \
    fire.op = std::make_from_tuple<Functor<T>>(surrogate_args<Tag>(c));                            \
  }
      SURROGATE_EXT_FOR_EACH_OTHER_SURROGATE(SURROGATE_EXT_SET_OWN)
#undef SURROGATE_EXT_SET_OWN
      return 0;
    });
  }
  return fire;
}

// The chosen row's gradient functor times grad_scale, in the opmath type T, passed to fn.
template <class T, class Fn>
decltype(auto) with_scaled_surrogate(const SurrogateChoice& c, Fn&& fn) {
  return visit_surrogate(c.row, [&](auto tag) {
    using Tag = decltype(tag);
    using S = typename ScaledBy<Tag::template functor>::template Functor<T>;
    const S s = std::apply([&](auto... a) { return S(c.grad_scale, a...); }, surrogate_args<Tag>(c));
    return fn(s);
  });
}

}  // namespace surrogate_ext
