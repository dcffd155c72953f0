// Operators that are not a row of the surrogate table, written with ATen operators once for every
// backend (CompositeExplicitAutograd); their autograd is the generic kernel's, like every other's.
//
// stochastic_spike_operator(x, mean, variance): snnTorch's SSO. The forward is the strict spike,
// x > 0; the backward passes grad_output where the unit fired and, where it did not,
// grad_output * (u - 1/2 + mean) * variance with u ~ U[0, 1) drawn from torch's generator
// (rand_like(x), as snnTorch draws it, so a seeded run reproduces snnTorch's numbers; the
// expression is evaluated in snnTorch's order).

#include <surrogate_ext/checks.h>

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/ops/rand_like.h>
#include <torch/library.h>

namespace surrogate_ext {
namespace {

constexpr const char* kForward = "surrogate_ext::stochastic_spike_operator";
constexpr const char* kBackward = "surrogate_ext::stochastic_spike_operator_backward";

void check_params(const char* op, double mean, double variance) {
  check_finite(op, "mean", mean);
  check_finite(op, "variance", variance);
}

at::Tensor stochastic_spike_operator(const at::Tensor& x, double mean, double variance) {
  check_params(kForward, mean, variance);
  check_input(kForward, "x", x);
  static const auto heaviside = c10::Dispatcher::singleton()
                                    .findSchemaOrThrow("surrogate_ext::heaviside", "")
                                    .typed<at::Tensor(const at::Tensor&, bool)>();
  return heaviside.call(x, /*strict=*/true);
}

at::Tensor stochastic_spike_operator_backward(const at::Tensor& grad_output, const at::Tensor& x,
                                              double mean, double variance) {
  check_params(kBackward, mean, variance);
  check_grad_output(kBackward, grad_output, x);
  const at::Tensor fired = x.gt(0);
  const at::Tensor out = fired.to(x.scalar_type());
  const at::Tensor silent = fired.logical_not().to(x.scalar_type());
  const at::Tensor noise = at::rand_like(x).sub(0.5).add(mean).mul(variance);
  return grad_output.mul(out).add(grad_output.mul(silent).mul(noise));
}

}  // namespace
}  // namespace surrogate_ext

TORCH_LIBRARY_IMPL(surrogate_ext, CompositeExplicitAutograd, m) {
  m.impl("surrogate_ext::stochastic_spike_operator",
         TORCH_FN(surrogate_ext::stochastic_spike_operator));
  m.impl("surrogate_ext::stochastic_spike_operator_backward",
         TORCH_FN(surrogate_ext::stochastic_spike_operator_backward));
}
