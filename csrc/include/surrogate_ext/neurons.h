#pragma once
// All the neuron math: one dynamics functor per neuron family, plus the table that drives
// everything else (schemas, CPU/CUDA/autograd registration, fake kernels, the namespaces' classes).
// The template that runs them (fire, BPTT, the kernels) is neuron.h; the surrogate is any row of
// surrogates.h.
//
// A family F<T> (T the opmath type: float for float/half/bfloat16, double for double) provides
//   kStates               how many states: v, then those the table names (Izhikevich's w, ...)
//   kParams               the per-neuron parameters the kernels read (ParamLanes), each with a
//                         gradient; scalars of the schema are members instead
//   charge(in)            h from the state before the step, the input and the parameters
//   fire_input(in, h)     u, whose step (or spike count) is the spike z
//   next(in, h, z, out)   the states after the step (the reset rule, the other states' updates)
//   vjp(in, h, z, sg, gz, g_next, g)
//                         the step's vector-Jacobian product: from the gradients reaching z (gz)
//                         and the state after the step (g_next), with sg = g'(u) the surrogate
//                         gradient, the gradients of the state before it, the input and the
//                         parameters
// and on the host
//   using Args            the schema's family arguments, in order (double, int64_t, bool,
//                         c10::optional<double>, at::Tensor for a tensor argument)
//   static check(op, a...)                 the arguments' constraints, raising ValueError
//   F(a...)                                the functor, from the arguments
//   static lanes(a...)                     the kParams tensors the kernels read (a tensor
//                                          argument, or a function of it: PLIF's sigmoid(w))
//   static gradients(grads, lanes, a...)   the gradients of the tensor arguments, in their order,
//                                          from those of the lanes (summed to their shapes)
//   static lane_name(k)                    the tensor argument lane k comes from (messages)
// Methods are templates over V, the lane type: T itself, or a CPU SIMD vector of T. Expressions
// are evaluated in the order of the peer whose neuron the family mirrors (named at each), so that
// in float32 and float64 spikes and states equal that peer's step-by-step PyTorch code bit for
// bit; neuron.h rounds h and the states to the storage type, as a step in that type would.

#include <surrogate_ext/checks.h>
#include <surrogate_ext/math.h>
#include <surrogate_ext/neuron.h>

#include <ATen/ExpandUtils.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/add.h>
#include <ATen/ops/clamp.h>
#include <ATen/ops/div.h>
#include <ATen/ops/log.h>
#include <ATen/ops/logical_and.h>
#include <ATen/ops/mul.h>
#include <ATen/ops/reciprocal.h>
#include <ATen/ops/rsub.h>
#include <ATen/ops/sigmoid.h>
#include <ATen/ops/sub.h>
#include <ATen/ops/where.h>
#include <c10/util/Optional.h>
#include <torch/version.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

namespace surrogate_ext {

using OptionalDouble = c10::optional<double>;

// SpikingJelly's fire and reset arguments, the last of most families' schemas:
// v_threshold; v_reset (None: soft reset, subtract v_threshold); detach_reset.
#define SURROGATE_EXT_SPIKINGJELLY_RESET ", float v_threshold, float? v_reset, bool detach_reset"

inline void check_reset(const char* op, double v_threshold, OptionalDouble v_reset) {
  TORCH_CHECK_VALUE(std::isfinite(v_threshold), op, ": v_threshold must be finite, got ", v_threshold);
  TORCH_CHECK_VALUE(!v_reset.has_value() || std::isfinite(*v_reset), op,
                    ": v_reset must be finite or None, got ", v_reset.value_or(0));
}

template <class T>
ResetRule<T> spikingjelly_reset(double v_threshold, OptionalDouble v_reset, bool detach_reset) {
  return ResetRule<T>{v_reset.has_value() ? ResetRule<T>::kHard : ResetRule<T>::kSoft, detach_reset,
                      T(v_threshold), T(v_reset.value_or(0))};
}

// The gradient reaching h through the fire and the reset rule, for a family whose u is h - v_th:
//   dL/dh = (gz + gv dv/dz) g'(u) + gv dv/dh    (gv: the gradient reaching the reset v)
template <class V, class T>
C10_HOST_DEVICE V through_fire_and_reset(const ResetRule<T>& r, V h, V z, V sg, V gz, V gv) {
  return (gz + gv * r.template d_z<V>(h)) * sg + gv * r.template d_h<V>(z);
}

// What every family without tensor arguments has on the host.
template <int kParams>
struct NoTensorArguments {
  static const char* lane_name(int) { return ""; }
  template <class... A>
  static std::array<at::Tensor, kParams> lanes(const A&...) { return {}; }
  template <class... A>
  static std::vector<at::Tensor> gradients(const std::array<at::Tensor, kParams>&,
                                           const std::array<at::Tensor, kParams>&, const A&...) {
    return {};
  }
};

// --- SpikingJelly 2.0 (spikingjelly.activation_based.neuron) and 0.0.0.0.14 (clock_driven) -------

// IF: h = v + x
template <class T>
struct IFNeuron : NoTensorArguments<0> {
  using opmath = T;
  static constexpr int kStates = 1, kParams = 0;
  using Args = std::tuple<double, OptionalDouble, bool>;
  static void check(const char* op, double v_threshold, OptionalDouble v_reset, bool) {
    check_reset(op, v_threshold, v_reset);
  }
  ResetRule<T> reset;
  IFNeuron(double v_threshold, OptionalDouble v_reset, bool detach_reset)
      : reset(spikingjelly_reset<T>(v_threshold, v_reset, detach_reset)) {}

  template <class V>
  C10_HOST_DEVICE V charge(const StepIn<V, IFNeuron>& in) const { return in.state[0] + in.x; }
  template <class V>
  C10_HOST_DEVICE V fire_input(const StepIn<V, IFNeuron>&, V h) const { return h - V(reset.v_threshold); }
  template <class V>
  C10_HOST_DEVICE void next(const StepIn<V, IFNeuron>&, V h, V z, Values<V, 1>& out) const {
    out[0] = reset.apply(h, z);
  }
  template <class V>
  C10_HOST_DEVICE void vjp(const StepIn<V, IFNeuron>&, V h, V z, V sg, V gz, const Values<V, 1>& g_next,
                           StepGrad<V, IFNeuron>& g) const {
    const V gh = through_fire_and_reset(reset, h, z, sg, gz, g_next[0]);
    g.state[0] = gh;
    g.x = gh;
  }
};

// The leak of SpikingJelly's LIF, with k = 1/tau (LIF, KLIF) or sigmoid(w) (PLIF):
//   decay_input:  h = v + (x - (v - v_reset)) k        (the 1/tau form divides by tau)
//   otherwise:    h = v - (v - v_reset) k + x
//                 or, with factored_leak and v_reset 0 (or None), h = v (1 - k) + x, as
//                 SpikingJelly 0.0.0.0.14 and SpikingJelly 2.0's multi-step I-LIF evaluate it
// v_reset None counts as 0 in the charge. `divide` chooses "/ tau" over "* k".
template <class T>
struct Leak {
  bool decay_input, factored, divide;
  T tau, leak_reset;  // leak_reset: v_reset, 0 when None

  // keep: (1 - k) as the caller computed it (1 - 1/tau in double, or 1 - sigmoid(w) in w's dtype)
  template <class V>
  C10_HOST_DEVICE V charge(V v, V x, V k, V keep) const {
    if (decay_input) {
      const V d = x - (v - V(leak_reset));
      return v + (divide ? d / V(tau) : d * k);
    }
    if (factored) return v * keep + x;
    const V d = v - V(leak_reset);
    return v - (divide ? d / V(tau) : d * k) + x;
  }
  // dh/dv and dh/dx (k: 1/tau or sigmoid(w))
  template <class V>
  C10_HOST_DEVICE V d_v(V k, V keep) const {
    if (!decay_input && factored) return keep;
    return V(1) - k;
  }
  template <class V>
  C10_HOST_DEVICE V d_x(V k) const { return decay_input ? k : V(1); }
  // dh/dk, and dh/dkeep (the factored form's)
  template <class V>
  C10_HOST_DEVICE V d_k(V v, V x) const {
    if (decay_input) return x - (v - V(leak_reset));
    return factored ? V(0) : -(v - V(leak_reset));
  }
  template <class V>
  C10_HOST_DEVICE V d_keep(V v) const { return !decay_input && factored ? v : V(0); }
};

template <class T>
Leak<T> tau_leak(double tau, bool decay_input, bool factored_leak, OptionalDouble v_reset) {
  const double leak_reset = v_reset.value_or(0);
  return Leak<T>{decay_input, factored_leak && leak_reset == 0, true, T(tau), T(leak_reset)};
}

inline void check_tau(const char* op, const char* name, double tau) {
  TORCH_CHECK_VALUE(tau > 0 && std::isfinite(tau), op, ": ", name, " must be finite and > 0, got ", tau);
}

// LIF (SpikingJelly's LIFNode; 0.0.0.0.14's MultiStepLIFNode with factored_leak)
template <class T>
struct LIFNeuron : NoTensorArguments<0> {
  using opmath = T;
  static constexpr int kStates = 1, kParams = 0;
  using Args = std::tuple<double, bool, bool, double, OptionalDouble, bool>;
  static void check(const char* op, double tau, bool, bool, double v_threshold,
                    OptionalDouble v_reset, bool) {
    check_tau(op, "tau", tau);
    check_reset(op, v_threshold, v_reset);
  }
  Leak<T> leak;
  T inv_tau, keep;  // 1/tau and 1 - 1/tau, in double and rounded (a Python scalar's path)
  ResetRule<T> reset;
  LIFNeuron(double tau, bool decay_input, bool factored_leak, double v_threshold,
            OptionalDouble v_reset, bool detach_reset)
      : leak(tau_leak<T>(tau, decay_input, factored_leak, v_reset)), inv_tau(T(1 / tau)),
        keep(T(1 - 1 / tau)), reset(spikingjelly_reset<T>(v_threshold, v_reset, detach_reset)) {}

  template <class V>
  C10_HOST_DEVICE V charge(const StepIn<V, LIFNeuron>& in) const {
    return leak.charge(in.state[0], in.x, V(inv_tau), V(keep));
  }
  template <class V>
  C10_HOST_DEVICE V fire_input(const StepIn<V, LIFNeuron>&, V h) const { return h - V(reset.v_threshold); }
  template <class V>
  C10_HOST_DEVICE void next(const StepIn<V, LIFNeuron>&, V h, V z, Values<V, 1>& out) const {
    out[0] = reset.apply(h, z);
  }
  template <class V>
  C10_HOST_DEVICE void vjp(const StepIn<V, LIFNeuron>&, V h, V z, V sg, V gz, const Values<V, 1>& g_next,
                           StepGrad<V, LIFNeuron>& g) const {
    const V gh = through_fire_and_reset(reset, h, z, sg, gz, g_next[0]);
    g.state[0] = gh * leak.d_v(V(inv_tau), V(keep));
    g.x = gh * leak.d_x(V(inv_tau));
  }
};

// Parametric LIF (Fang et al. 2021; SpikingJelly's ParametricLIFNode): the LIF leak with
// k = sigmoid(w), w learnable (a tensor: one value, or one per neuron).
template <class T>
struct PLIFNeuron {
  using opmath = T;
  static constexpr int kStates = 1, kParams = 2;  // k = sigmoid(w) and 1 - k, in w's dtype
  using Args = std::tuple<at::Tensor, bool, bool, double, OptionalDouble, bool>;
  static void check(const char* op, const at::Tensor& w, bool, bool, double v_threshold,
                    OptionalDouble v_reset, bool) {
    check_input(op, "w", w);
    check_reset(op, v_threshold, v_reset);
  }
  Leak<T> leak;
  ResetRule<T> reset;
  PLIFNeuron(const at::Tensor&, bool decay_input, bool factored_leak, double v_threshold,
             OptionalDouble v_reset, bool detach_reset)
      : leak(tau_leak<T>(1, decay_input, factored_leak, v_reset)),
        reset(spikingjelly_reset<T>(v_threshold, v_reset, detach_reset)) {
    leak.divide = false;
  }
  static const char* lane_name(int) { return "w"; }
  // SpikingJelly's `w.sigmoid()` and `1. - w.sigmoid()`, as torch computes them
  template <class... A>
  static std::array<at::Tensor, 2> lanes(const at::Tensor& w, const A&...) {
    const at::Tensor k = at::sigmoid(w);
    return {k, at::rsub(k, 1)};
  }
  // dL/dw = (dL/dk - dL/d(1 - k)) k (1 - k)
  template <class... A>
  static std::vector<at::Tensor> gradients(const std::array<at::Tensor, 2>& grads,
                                           const std::array<at::Tensor, 2>& lanes, const A&...) {
    return {(grads[0] - grads[1]) * lanes[0] * lanes[1]};
  }

  template <class V>
  C10_HOST_DEVICE V charge(const StepIn<V, PLIFNeuron>& in) const {
    return leak.charge(in.state[0], in.x, in.p[0], in.p[1]);
  }
  template <class V>
  C10_HOST_DEVICE V fire_input(const StepIn<V, PLIFNeuron>&, V h) const { return h - V(reset.v_threshold); }
  template <class V>
  C10_HOST_DEVICE void next(const StepIn<V, PLIFNeuron>&, V h, V z, Values<V, 1>& out) const {
    out[0] = reset.apply(h, z);
  }
  template <class V>
  C10_HOST_DEVICE void vjp(const StepIn<V, PLIFNeuron>& in, V h, V z, V sg, V gz,
                           const Values<V, 1>& g_next, StepGrad<V, PLIFNeuron>& g) const {
    const V gh = through_fire_and_reset(reset, h, z, sg, gz, g_next[0]);
    g.state[0] = gh * leak.d_v(in.p[0], in.p[1]);
    g.x = gh * leak.d_x(in.p[0]);
    g.p[0] = gh * leak.d_k(in.state[0], in.x);
    g.p[1] = gh * leak.d_keep(in.state[0]);
  }
};

// QIF (SpikingJelly's QIFNode): h = v + (x + a0 (v - v_rest) (v - v_c)) / tau
template <class T>
struct QIFNeuron : NoTensorArguments<0> {
  using opmath = T;
  static constexpr int kStates = 1, kParams = 0;
  using Args = std::tuple<double, double, double, double, double, OptionalDouble, bool>;
  static void check(const char* op, double tau, double v_c, double a0, double v_rest,
                    double v_threshold, OptionalDouble v_reset, bool) {
    check_tau(op, "tau", tau);
    check_finite(op, "v_c", v_c);
    check_finite(op, "a0", a0);
    check_finite(op, "v_rest", v_rest);
    check_reset(op, v_threshold, v_reset);
  }
  T tau, v_c, a0, v_rest;
  ResetRule<T> reset;
  QIFNeuron(double tau_, double v_c_, double a0_, double v_rest_, double v_threshold,
            OptionalDouble v_reset, bool detach_reset)
      : tau(tau_), v_c(v_c_), a0(a0_), v_rest(v_rest_),
        reset(spikingjelly_reset<T>(v_threshold, v_reset, detach_reset)) {}

  template <class V>
  C10_HOST_DEVICE V charge(const StepIn<V, QIFNeuron>& in) const {
    const V v = in.state[0];
    return v + (in.x + V(a0) * (v - V(v_rest)) * (v - V(v_c))) / V(tau);
  }
  template <class V>
  C10_HOST_DEVICE V fire_input(const StepIn<V, QIFNeuron>&, V h) const { return h - V(reset.v_threshold); }
  template <class V>
  C10_HOST_DEVICE void next(const StepIn<V, QIFNeuron>&, V h, V z, Values<V, 1>& out) const {
    out[0] = reset.apply(h, z);
  }
  template <class V>
  C10_HOST_DEVICE void vjp(const StepIn<V, QIFNeuron>& in, V h, V z, V sg, V gz,
                           const Values<V, 1>& g_next, StepGrad<V, QIFNeuron>& g) const {
    const V v = in.state[0];
    const V gh = through_fire_and_reset(reset, h, z, sg, gz, g_next[0]);
    g.state[0] = gh * (V(1) + V(a0) * ((v - V(v_c)) + (v - V(v_rest))) / V(tau));
    g.x = gh / V(tau);
  }
};

// EIF (SpikingJelly's EIFNode): h = v + (x + v_rest - v + delta_T exp((v - theta_rh) / delta_T)) / tau
// exp is torch.exp's own (Math<V>::exp_as_torch), so the charge rounds as SpikingJelly's does.
template <class T>
struct EIFNeuron : NoTensorArguments<0> {
  using opmath = T;
  static constexpr int kStates = 1, kParams = 0;
  using Args = std::tuple<double, double, double, double, double, OptionalDouble, bool>;
  static void check(const char* op, double tau, double delta_T, double theta_rh, double v_rest,
                    double v_threshold, OptionalDouble v_reset, bool) {
    check_tau(op, "tau", tau);
    check_positive(op, "delta_T", delta_T);
    check_finite(op, "theta_rh", theta_rh);
    check_finite(op, "v_rest", v_rest);
    check_reset(op, v_threshold, v_reset);
  }
  T tau, delta_T, theta_rh, v_rest;
  ResetRule<T> reset;
  EIFNeuron(double tau_, double delta_T_, double theta_rh_, double v_rest_, double v_threshold,
            OptionalDouble v_reset, bool detach_reset)
      : tau(tau_), delta_T(delta_T_), theta_rh(theta_rh_), v_rest(v_rest_),
        reset(spikingjelly_reset<T>(v_threshold, v_reset, detach_reset)) {}

  template <class V>
  C10_HOST_DEVICE V spike_current(V v) const {  // exp((v - theta_rh) / delta_T)
    return Math<V>::exp_as_torch((v - V(theta_rh)) / V(delta_T));
  }
  template <class V>
  C10_HOST_DEVICE V charge(const StepIn<V, EIFNeuron>& in) const {
    const V v = in.state[0];
    return v + (in.x + V(v_rest) - v + V(delta_T) * spike_current(v)) / V(tau);
  }
  template <class V>
  C10_HOST_DEVICE V fire_input(const StepIn<V, EIFNeuron>&, V h) const { return h - V(reset.v_threshold); }
  template <class V>
  C10_HOST_DEVICE void next(const StepIn<V, EIFNeuron>&, V h, V z, Values<V, 1>& out) const {
    out[0] = reset.apply(h, z);
  }
  template <class V>
  C10_HOST_DEVICE void vjp(const StepIn<V, EIFNeuron>& in, V h, V z, V sg, V gz,
                           const Values<V, 1>& g_next, StepGrad<V, EIFNeuron>& g) const {
    const V gh = through_fire_and_reset(reset, h, z, sg, gz, g_next[0]);
    g.state[0] = gh * (V(1) + (spike_current(in.state[0]) - V(1)) / V(tau));
    g.x = gh / V(tau);
  }
};

// Izhikevich (SpikingJelly's IzhikevichNode), two states, v and the recovery w:
//   h  = v + (x + a0 (v - v_rest) (v - v_c) - w) / tau
//   w' = w + (a (h - v_rest) - w) / tau_w + b z      (z not detached, as in SpikingJelly)
template <class T>
struct IzhikevichNeuron : NoTensorArguments<0> {
  using opmath = T;
  static constexpr int kStates = 2, kParams = 0;
  using Args = std::tuple<double, double, double, double, double, double, double, double,
                          OptionalDouble, bool>;
  static void check(const char* op, double tau, double v_c, double a0, double v_rest, double tau_w,
                    double a, double b, double v_threshold, OptionalDouble v_reset, bool) {
    check_tau(op, "tau", tau);
    check_finite(op, "v_c", v_c);
    check_finite(op, "a0", a0);
    check_finite(op, "v_rest", v_rest);
    check_tau(op, "tau_w", tau_w);
    check_finite(op, "a", a);
    check_finite(op, "b", b);
    check_reset(op, v_threshold, v_reset);
  }
  T tau, v_c, a0, v_rest, tau_w, a, b;
  ResetRule<T> reset;
  IzhikevichNeuron(double tau_, double v_c_, double a0_, double v_rest_, double tau_w_, double a_,
                   double b_, double v_threshold, OptionalDouble v_reset, bool detach_reset)
      : tau(tau_), v_c(v_c_), a0(a0_), v_rest(v_rest_), tau_w(tau_w_), a(a_), b(b_),
        reset(spikingjelly_reset<T>(v_threshold, v_reset, detach_reset)) {}

  template <class V>
  C10_HOST_DEVICE V charge(const StepIn<V, IzhikevichNeuron>& in) const {
    const V v = in.state[0];
    return v + (in.x + V(a0) * (v - V(v_rest)) * (v - V(v_c)) - in.state[1]) / V(tau);
  }
  template <class V>
  C10_HOST_DEVICE V fire_input(const StepIn<V, IzhikevichNeuron>&, V h) const {
    return h - V(reset.v_threshold);
  }
  template <class V>
  C10_HOST_DEVICE void next(const StepIn<V, IzhikevichNeuron>& in, V h, V z, Values<V, 2>& out) const {
    const V w = in.state[1];
    out[0] = reset.apply(h, z);
    out[1] = w + (V(a) * (h - V(v_rest)) - w) / V(tau_w) + V(b) * z;
  }
  template <class V>
  C10_HOST_DEVICE void vjp(const StepIn<V, IzhikevichNeuron>& in, V h, V z, V sg, V gz,
                           const Values<V, 2>& g_next, StepGrad<V, IzhikevichNeuron>& g) const {
    const V v = in.state[0], gv = g_next[0], gw = g_next[1];
    const V gh = (gz + gv * reset.template d_z<V>(h) + gw * V(b)) * sg +
                 gv * reset.template d_h<V>(z) + gw * V(a) / V(tau_w);
    g.state[0] = gh * (V(1) + V(a0) * ((v - V(v_c)) + (v - V(v_rest))) / V(tau));
    g.state[1] = gw * (V(1) - V(1) / V(tau_w)) - gh / V(tau);
    g.x = gh / V(tau);
  }
};

// CUBA LIF (SpikingJelly's CUBALIFNode), two states, v and the synaptic current c:
//   c' = c c_decay + x;  h = v v_decay + c'
template <class T>
struct CUBALIFNeuron : NoTensorArguments<0> {
  using opmath = T;
  static constexpr int kStates = 2, kParams = 0;
  using Args = std::tuple<double, double, double, OptionalDouble, bool>;
  static void check(const char* op, double c_decay, double v_decay, double v_threshold,
                    OptionalDouble v_reset, bool) {
    check_finite(op, "c_decay", c_decay);
    check_finite(op, "v_decay", v_decay);
    check_reset(op, v_threshold, v_reset);
  }
  T c_decay, v_decay;
  ResetRule<T> reset;
  CUBALIFNeuron(double c_decay_, double v_decay_, double v_threshold, OptionalDouble v_reset,
                bool detach_reset)
      : c_decay(c_decay_), v_decay(v_decay_),
        reset(spikingjelly_reset<T>(v_threshold, v_reset, detach_reset)) {}

  template <class V>
  C10_HOST_DEVICE V current(const StepIn<V, CUBALIFNeuron>& in) const {
    return in.state[1] * V(c_decay) + in.x;
  }
  template <class V>
  C10_HOST_DEVICE V charge(const StepIn<V, CUBALIFNeuron>& in) const {
    return in.state[0] * V(v_decay) + current(in);
  }
  template <class V>
  C10_HOST_DEVICE V fire_input(const StepIn<V, CUBALIFNeuron>&, V h) const {
    return h - V(reset.v_threshold);
  }
  template <class V>
  C10_HOST_DEVICE void next(const StepIn<V, CUBALIFNeuron>& in, V h, V z, Values<V, 2>& out) const {
    out[0] = reset.apply(h, z);
    out[1] = current(in);
  }
  template <class V>
  C10_HOST_DEVICE void vjp(const StepIn<V, CUBALIFNeuron>&, V h, V z, V sg, V gz,
                           const Values<V, 2>& g_next, StepGrad<V, CUBALIFNeuron>& g) const {
    const V gh = through_fire_and_reset(reset, h, z, sg, gz, g_next[0]);
    const V gc = g_next[1] + gh;  // the gradient reaching c'
    g.state[0] = gh * V(v_decay);
    g.state[1] = gc * V(c_decay);
    g.x = gc;
  }
};

// KLIF (Jiang et al. 2023; SpikingJelly's KLIFNode): the LIF charge h0 (SpikingJelly 2.0's form),
// then h = relu(k h0), k learnable. scale_reset resets h / k with threshold v_threshold / k.
template <class T>
struct KLIFNeuron {
  using opmath = T;
  static constexpr int kStates = 1, kParams = 1;
  using Args = std::tuple<at::Tensor, double, bool, bool, double, OptionalDouble, bool>;
  static void check(const char* op, const at::Tensor& k, double tau, bool, bool, double v_threshold,
                    OptionalDouble v_reset, bool) {
    check_input(op, "k", k);
    check_tau(op, "tau", tau);
    check_reset(op, v_threshold, v_reset);
  }
  Leak<T> leak;
  T inv_tau;
  bool scale_reset;
  ResetRule<T> reset;
  KLIFNeuron(const at::Tensor&, double tau, bool decay_input, bool scale_reset_, double v_threshold,
             OptionalDouble v_reset, bool detach_reset)
      : leak(tau_leak<T>(tau, decay_input, false, v_reset)), inv_tau(T(1 / tau)),
        scale_reset(scale_reset_), reset(spikingjelly_reset<T>(v_threshold, v_reset, detach_reset)) {}
  static const char* lane_name(int) { return "k"; }
  template <class... A>
  static std::array<at::Tensor, 1> lanes(const at::Tensor& k, const A&...) { return {k}; }
  template <class... A>
  static std::vector<at::Tensor> gradients(const std::array<at::Tensor, 1>& grads,
                                           const std::array<at::Tensor, 1>&, const A&...) {
    return {grads[0]};
  }

  template <class V>
  C10_HOST_DEVICE V charge(const StepIn<V, KLIFNeuron>& in) const {
    const V h0 = leak.charge(in.state[0], in.x, V(inv_tau), V(0));
    const V kh = in.p[0] * h0;
    return Math<V>::where(kh < V(0), V(0), kh);  // relu (NaN stays NaN, as torch.relu's)
  }
  template <class V>
  C10_HOST_DEVICE V fire_input(const StepIn<V, KLIFNeuron>&, V h) const { return h - V(reset.v_threshold); }
  // the reset rule on (h / k, v_threshold / k) with scale_reset, on h without; v_threshold / k
  // as torch evaluates a Python float over a tensor: reciprocal(k) * v_threshold
  template <class V>
  C10_HOST_DEVICE ResetRule<V> scaled_reset(V k) const {
    return ResetRule<V>{reset.kind, reset.detach,
                        scale_reset ? V(1) / k * V(reset.v_threshold) : V(reset.v_threshold),
                        V(reset.v_reset)};
  }
  template <class V>
  C10_HOST_DEVICE void next(const StepIn<V, KLIFNeuron>& in, V h, V z, Values<V, 1>& out) const {
    out[0] = scaled_reset(in.p[0]).apply(scale_reset ? h / in.p[0] : h, z);
  }
  template <class V>
  C10_HOST_DEVICE void vjp(const StepIn<V, KLIFNeuron>& in, V h, V z, V sg, V gz,
                           const Values<V, 1>& g_next, StepGrad<V, KLIFNeuron>& g) const {
    const V k = in.p[0], gv = g_next[0];
    const ResetRule<V> r = scaled_reset(k);
    const V q = scale_reset ? h / k : h;  // what the reset rule acts on
    const V dq_dh = scale_reset ? V(1) / k : V(1);
    const V gh = (gz + gv * r.template d_z<V>(q)) * sg + gv * r.template d_h<V>(z) * dq_dh;
    V gk(0);
    if (scale_reset) {  // d q / d k = -q / k; d (v_threshold / k) / d k = -(v_threshold / k) / k
      gk = gv * r.template d_h<V>(z) * (-q / k);
      if (r.kind == ResetRule<V>::kSoft) gk = gk + gv * z * r.v_threshold / k;
    }
    const V h0 = leak.charge(in.state[0], in.x, V(inv_tau), V(0));
    const V on = Math<V>::where(k * h0 > V(0), V(1), V(0));  // relu's gradient (0 at 0, as torch's)
    const V gh0 = gh * k * on;
    g.p[0] = gk + gh * h0 * on;
    g.state[0] = gh0 * leak.d_v(V(inv_tau), V(0));
    g.x = gh0 * leak.d_x(V(inv_tau));
  }
};

// I-LIF (Luo et al. 2024; SpikingJelly's ILIFNode): the LIF charge without input decay, fired as
// a spike count on u = h / v_threshold (MultiLevelSpikeCount), soft reset by z v_threshold.
template <class T>
struct ILIFNeuron : NoTensorArguments<0> {
  using opmath = T;
  static constexpr int kStates = 1, kParams = 0;
  using Args = std::tuple<double, bool, double, bool>;
  static void check(const char* op, double tau, bool, double v_threshold, bool) {
    check_tau(op, "tau", tau);
    TORCH_CHECK_VALUE(v_threshold > 0 && std::isfinite(v_threshold), op,
                      ": v_threshold must be finite and > 0, got ", v_threshold);
  }
  Leak<T> leak;
  T inv_tau, keep;
  ResetRule<T> reset;
  ILIFNeuron(double tau, bool factored_leak, double v_threshold, bool detach_reset)
      : leak(tau_leak<T>(tau, false, factored_leak, c10::nullopt)), inv_tau(T(1 / tau)),
        keep(T(1 - 1 / tau)), reset(spikingjelly_reset<T>(v_threshold, c10::nullopt, detach_reset)) {}

  template <class V>
  C10_HOST_DEVICE V charge(const StepIn<V, ILIFNeuron>& in) const {
    return leak.charge(in.state[0], in.x, V(inv_tau), V(keep));
  }
  template <class V>
  C10_HOST_DEVICE V fire_input(const StepIn<V, ILIFNeuron>&, V h) const { return h / V(reset.v_threshold); }
  template <class V>
  C10_HOST_DEVICE void next(const StepIn<V, ILIFNeuron>&, V h, V z, Values<V, 1>& out) const {
    out[0] = reset.apply(h, z);
  }
  template <class V>
  C10_HOST_DEVICE void vjp(const StepIn<V, ILIFNeuron>&, V h, V z, V sg, V gz, const Values<V, 1>& g_next,
                           StepGrad<V, ILIFNeuron>& g) const {
    const V gv = g_next[0];
    const V gh = (gz + gv * reset.template d_z<V>(h)) * sg / V(reset.v_threshold) +
                 gv * reset.template d_h<V>(z);
    g.state[0] = gh * leak.d_v(V(inv_tau), V(keep));
    g.x = gh * leak.d_x(V(inv_tau));
  }
};

// Resonate-and-fire (Izhikevich 2001; SpikingJelly's RAFNode), two states, v and u, rotating by
// theta = omega dt and decaying by alpha = exp(b dt) each step (both in double, as Python's math):
//   h = alpha (u sin(theta) + v cos(theta));   u' = alpha (u cos(theta) - v sin(theta)) + x
template <class T>
struct RAFNeuron : NoTensorArguments<0> {
  using opmath = T;
  static constexpr int kStates = 2, kParams = 0;
  using Args = std::tuple<double, double, double, double, OptionalDouble, bool>;
  static void check(const char* op, double b, double omega, double dt, double v_threshold,
                    OptionalDouble v_reset, bool) {
    check_finite(op, "b", b);
    check_finite(op, "omega", omega);
    check_positive(op, "dt", dt);
    check_reset(op, v_threshold, v_reset);
  }
  T alpha, cos_theta, sin_theta;
  ResetRule<T> reset;
  RAFNeuron(double b, double omega, double dt, double v_threshold, OptionalDouble v_reset,
            bool detach_reset)
      : alpha(std::exp(b * dt)), cos_theta(std::cos(omega * dt)), sin_theta(std::sin(omega * dt)),
        reset(spikingjelly_reset<T>(v_threshold, v_reset, detach_reset)) {}

  template <class V>
  C10_HOST_DEVICE V charge(const StepIn<V, RAFNeuron>& in) const {
    return V(alpha) * (in.state[1] * V(sin_theta) + in.state[0] * V(cos_theta));
  }
  template <class V>
  C10_HOST_DEVICE V fire_input(const StepIn<V, RAFNeuron>&, V h) const { return h - V(reset.v_threshold); }
  template <class V>
  C10_HOST_DEVICE void next(const StepIn<V, RAFNeuron>& in, V h, V z, Values<V, 2>& out) const {
    out[0] = reset.apply(h, z);
    out[1] = V(alpha) * (in.state[1] * V(cos_theta) - in.state[0] * V(sin_theta)) + in.x;
  }
  template <class V>
  C10_HOST_DEVICE void vjp(const StepIn<V, RAFNeuron>&, V h, V z, V sg, V gz, const Values<V, 2>& g_next,
                           StepGrad<V, RAFNeuron>& g) const {
    const V gh = through_fire_and_reset(reset, h, z, sg, gz, g_next[0]);
    const V gu = g_next[1];  // the gradient reaching u'
    g.state[0] = V(alpha) * (gh * V(cos_theta) - gu * V(sin_theta));
    g.state[1] = V(alpha) * (gh * V(sin_theta) + gu * V(cos_theta));
    g.x = gu;
  }
};

// --- snnTorch 1.0.0 (snntorch._neurons) --------------------------------------------------------
//
// snnTorch's neurons carry the membrane before its reset, and decide the reset of step t from the
// state before it: r = fire(mem[t-1] - threshold), detached (snnTorch's mem_reset: the spike
// function's own forward, then .detach()), applied in step t's charge. The spike is z =
// fire(h - threshold) on the charged membrane h, which is the state carried. reset_mechanism is
// snnTorch's reset_mechanism_val: 0 subtract, 1 zero, 2 none. Without reset_delay (Leaky,
// Synaptic, RLeaky, RSynaptic) snnTorch also resets at once after the fire, z not detached (its
// "avoid double reset", spk / graded_spikes_factor - reset, is z - r):
//   subtract: mem = h - (z - r) threshold;   zero: mem = h - (z - r) h.
// beta and alpha are clamped to [0, 1] in the charge, as snnTorch's step clamps them, with the
// gradient torch.clamp has in the torch built against (kClampGradAtEnds). Every parameter is
// a tensor argument (one value, or one per neuron: snnTorch's buffer or nn.Parameter);
// graded_spikes_factor multiplies the spikes outside the operators.
#define SURROGATE_EXT_SNNTORCH_RESET ", Tensor threshold, int reset_mechanism"

inline void check_reset_mechanism(const char* op, int64_t reset_mechanism) {
  TORCH_CHECK_VALUE(reset_mechanism >= 0 && reset_mechanism <= 2, op,
                    ": reset_mechanism must be 0 (subtract), 1 (zero) or 2 (none), got ",
                    reset_mechanism);
}

// torch.clamp(a, 0, 1) (NaN stays NaN) and its gradient: 1 inside (0, 1), 0 outside and at NaN;
// at the ends 0 and 1, 1 up to torch 2.13 and 0 from torch 2.14, which gives clamp with number
// bounds the minimum-norm subgradient (relu's and hardtanh's; pytorch/pytorch#184574).
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 14)
constexpr bool kClampGradAtEnds = false;
#else
constexpr bool kClampGradAtEnds = true;
#endif
// where torch.clamp(a, 0, 1) passes the gradient, on the host
inline at::Tensor clamp_unit_passes(const at::Tensor& a) {
  return kClampGradAtEnds ? at::logical_and(a >= 0, a <= 1) : at::logical_and(a > 0, a < 1);
}
template <class V>
C10_HOST_DEVICE V clamp_unit(V a) {
  return Math<V>::where(a < V(0), V(0), Math<V>::where(a > V(1), V(1), a));
}
template <class V>
C10_HOST_DEVICE V clamp_unit_grad(V a) {
  if (kClampGradAtEnds) return Math<V>::where(a >= V(0), Math<V>::where(a <= V(1), V(1), V(0)), V(0));
  return Math<V>::where(a > V(0), Math<V>::where(a < V(1), V(1), V(0)), V(0));
}

// The gradients a step sends back through its fire and its reset after the fire.
template <class V>
struct ThroughFire {
  V u;    // dL/du, u = h - threshold
  V h;    // dL/dh
  V thr;  // dL/dthreshold through u and the reset after the fire
};

// snnTorch's reset rule (reset_mechanism_val, reset_delay); r is the step's reset, decided by the
// state before it (the membrane is the family's state 0).
struct SnnTorchReset {
  int64_t mechanism;  // 0 subtract, 1 zero, 2 none
  bool delay;         // reset_delay: the reset after the fire is left to the next step

  template <class V, class F>
  C10_HOST_DEVICE V decided(const StepIn<V, F>& in, V threshold) const {
    return (*in.fire)(in.state[0] - threshold);
  }
  // The reset in the charge, of Synaptic, RLeaky, RSynaptic and Lapicque, on the membrane b0
  // charged without it: subtract b0 - r threshold, zero b0 - b0 r, none b0.
  template <class V>
  C10_HOST_DEVICE V in_charge(V b0, V r, V threshold) const {
    if (mechanism == 0) return b0 - r * threshold;
    if (mechanism == 1) return b0 - b0 * r;
    return b0;
  }
  template <class V>
  C10_HOST_DEVICE V in_charge_d_b0(V r) const { return mechanism == 1 ? V(1) - r : V(1); }
  template <class V>
  C10_HOST_DEVICE V in_charge_d_threshold(V r) const { return mechanism == 0 ? -r : V(0); }
  // The state after the fire: h, or without reset_delay h reset once more.
  template <class V>
  C10_HOST_DEVICE V after_fire(V h, V z, V r, V threshold) const {
    if (delay || mechanism == 2) return h;
    if (mechanism == 0) return h - (z - r) * threshold;
    return h - (z - r) * h;
  }
  // From gz (the spike's gradient) and gm (the state's), with sg = g'(u).
  template <class V>
  C10_HOST_DEVICE ThroughFire<V> through_fire(V h, V z, V r, V threshold, V sg, V gz, V gm) const {
    const bool after = !delay && mechanism != 2;
    const V dm_dz = after ? (mechanism == 0 ? -threshold : -h) : V(0);
    const V dm_dh = after && mechanism == 1 ? V(1) - (z - r) : V(1);
    const V gu = (gz + gm * dm_dz) * sg;
    const V gthr = after && mechanism == 0 ? -gm * (z - r) - gu : -gu;
    return {gu, gu + gm * dm_dh, gthr};
  }
};

// What the families below share: the tensor arguments are the lanes themselves, their gradients
// the lanes' (kNames: the lanes' names, the tensor arguments in schema order).
template <int N>
struct SnnTorchLanes {
  template <class... A>
  static std::vector<at::Tensor> gradients(const std::array<at::Tensor, N>& grads,
                                           const std::array<at::Tensor, N>&, const A&...) {
    return std::vector<at::Tensor>(grads.begin(), grads.end());
  }
};

// Leaky (snnTorch's Leaky; with kRecurrent, RLeaky's neuron update, its recurrent layer's output
// rec = recurrent(spk) an input of the charge). Lanes: beta, threshold[, rec].
//   Leaky:   subtract (beta mem + x) - r threshold; zero beta ((1 - r) mem) + x; none beta mem + x
//   RLeaky:  b0 = (beta mem + x) + rec, then the reset in the charge (zero: b0 - b0 r)
template <class T, bool kRecurrent>
struct LeakyFamily {
  using opmath = T;
  static constexpr int kStates = 1, kParams = kRecurrent ? 3 : 2;
  static constexpr int kBeta = 0, kThreshold = 1, kRec = 2;
  SnnTorchReset reset;

  template <class V, class F>
  C10_HOST_DEVICE V charge(const StepIn<V, F>& in) const {
    const V m = in.state[0], threshold = in.p[kThreshold], beta = clamp_unit(in.p[kBeta]);
    const V r = reset.decided(in, threshold);
    if constexpr (kRecurrent) {
      return reset.in_charge(beta * m + in.x + in.p[kRec], r, threshold);
    } else {
      if (reset.mechanism == 1) return beta * ((V(1) - r) * m) + in.x;
      return reset.in_charge(beta * m + in.x, r, threshold);
    }
  }
  template <class V, class F>
  C10_HOST_DEVICE V fire_input(const StepIn<V, F>& in, V h) const { return h - in.p[kThreshold]; }
  template <class V, class F>
  C10_HOST_DEVICE void next(const StepIn<V, F>& in, V h, V z, Values<V, 1>& out) const {
    const V threshold = in.p[kThreshold];
    out[0] = reset.after_fire(h, z, reset.decided(in, threshold), threshold);
  }
  template <class V, class F>
  C10_HOST_DEVICE void vjp(const StepIn<V, F>& in, V h, V z, V sg, V gz, const Values<V, 1>& g_next,
                           StepGrad<V, F>& g) const {
    const V m = in.state[0], threshold = in.p[kThreshold], beta = clamp_unit(in.p[kBeta]);
    const V r = reset.decided(in, threshold);
    const ThroughFire<V> t = reset.through_fire(h, z, r, threshold, sg, gz, g_next[0]);
    const bool zero_first = !kRecurrent && reset.mechanism == 1;  // Leaky's zero: before the leak
    const V gb0 = zero_first ? t.h : t.h * reset.in_charge_d_b0(r);  // reaching beta mem + x (+ rec)
    const V kept = zero_first ? (V(1) - r) * m : m;                  // what beta multiplies
    g.state[0] = zero_first ? gb0 * beta * (V(1) - r) : gb0 * beta;
    g.x = gb0;
    g.p[kBeta] = gb0 * kept * clamp_unit_grad(in.p[kBeta]);
    g.p[kThreshold] = t.thr + t.h * reset.in_charge_d_threshold(r);
    if constexpr (kRecurrent) g.p[kRec] = gb0;
  }
};

template <class T>
struct LeakyNeuron : LeakyFamily<T, false>, SnnTorchLanes<2> {
  using Args = std::tuple<at::Tensor, at::Tensor, int64_t, bool>;
  static void check(const char* op, const at::Tensor& beta, const at::Tensor& threshold,
                    int64_t reset_mechanism, bool) {
    check_input(op, "beta", beta);
    check_input(op, "threshold", threshold);
    check_reset_mechanism(op, reset_mechanism);
  }
  LeakyNeuron(const at::Tensor&, const at::Tensor&, int64_t reset_mechanism, bool reset_delay)
      : LeakyFamily<T, false>{{reset_mechanism, reset_delay}} {}
  static const char* lane_name(int k) { return k == 0 ? "beta" : "threshold"; }
  template <class... A>
  static std::array<at::Tensor, 2> lanes(const at::Tensor& beta, const at::Tensor& threshold,
                                         const A&...) {
    return {beta, threshold};
  }
};

// RLeaky: the recurrent layer's output first (recurrent_input), then Leaky's arguments.
template <class T>
struct RLeakyNeuron : LeakyFamily<T, true> {
  using Args = std::tuple<at::Tensor, at::Tensor, at::Tensor, int64_t, bool>;
  static void check(const char* op, const at::Tensor& rec, const at::Tensor& beta,
                    const at::Tensor& threshold, int64_t reset_mechanism, bool) {
    check_input(op, "recurrent_input", rec);
    LeakyNeuron<T>::check(op, beta, threshold, reset_mechanism, false);
  }
  RLeakyNeuron(const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t reset_mechanism,
               bool reset_delay)
      : LeakyFamily<T, true>{{reset_mechanism, reset_delay}} {}
  static const char* lane_name(int k) {
    return k == 0 ? "beta" : k == 1 ? "threshold" : "recurrent_input";
  }
  template <class... A>
  static std::array<at::Tensor, 3> lanes(const at::Tensor& rec, const at::Tensor& beta,
                                         const at::Tensor& threshold, const A&...) {
    return {beta, threshold, rec};
  }
  // in schema order: recurrent_input, beta, threshold
  template <class... A>
  static std::vector<at::Tensor> gradients(const std::array<at::Tensor, 3>& grads,
                                           const std::array<at::Tensor, 3>&, const A&...) {
    return {grads[2], grads[0], grads[1]};
  }
};

// Synaptic (snnTorch's Synaptic; with kRecurrent, RSynaptic's neuron update), two states, mem
// and the synaptic current syn. Lanes: alpha, beta, threshold[, rec].
//   syn' = alpha syn + x (+ rec);  b0 = beta mem + syn';  mem = the reset in the charge on b0
// (zero resets the membrane only: snnTorch subtracts 0 r from syn').
template <class T, bool kRecurrent>
struct SynapticFamily {
  using opmath = T;
  static constexpr int kStates = 2, kParams = kRecurrent ? 4 : 3;
  static constexpr int kAlpha = 0, kBeta = 1, kThreshold = 2, kRec = 3;
  SnnTorchReset reset;

  template <class V, class F>
  C10_HOST_DEVICE V current(const StepIn<V, F>& in) const {
    const V syn = clamp_unit(in.p[kAlpha]) * in.state[1] + in.x;
    if constexpr (kRecurrent) {
      return syn + in.p[kRec];
    } else {
      return syn;
    }
  }
  template <class V, class F>
  C10_HOST_DEVICE V charge(const StepIn<V, F>& in) const {
    const V threshold = in.p[kThreshold];
    const V b0 = clamp_unit(in.p[kBeta]) * in.state[0] + current(in);
    return reset.in_charge(b0, reset.decided(in, threshold), threshold);
  }
  template <class V, class F>
  C10_HOST_DEVICE V fire_input(const StepIn<V, F>& in, V h) const { return h - in.p[kThreshold]; }
  template <class V, class F>
  C10_HOST_DEVICE void next(const StepIn<V, F>& in, V h, V z, Values<V, 2>& out) const {
    const V threshold = in.p[kThreshold];
    out[0] = reset.after_fire(h, z, reset.decided(in, threshold), threshold);
    out[1] = current(in);
  }
  template <class V, class F>
  C10_HOST_DEVICE void vjp(const StepIn<V, F>& in, V h, V z, V sg, V gz, const Values<V, 2>& g_next,
                           StepGrad<V, F>& g) const {
    const V threshold = in.p[kThreshold];
    const V r = reset.decided(in, threshold);
    const ThroughFire<V> t = reset.through_fire(h, z, r, threshold, sg, gz, g_next[0]);
    const V gb0 = t.h * reset.in_charge_d_b0(r);
    const V gsyn = gb0 + g_next[1];  // reaching syn'
    g.state[0] = gb0 * clamp_unit(in.p[kBeta]);
    g.state[1] = gsyn * clamp_unit(in.p[kAlpha]);
    g.x = gsyn;
    g.p[kAlpha] = gsyn * in.state[1] * clamp_unit_grad(in.p[kAlpha]);
    g.p[kBeta] = gb0 * in.state[0] * clamp_unit_grad(in.p[kBeta]);
    g.p[kThreshold] = t.thr + t.h * reset.in_charge_d_threshold(r);
    if constexpr (kRecurrent) g.p[kRec] = gsyn;
  }
};

template <class T>
struct SynapticNeuron : SynapticFamily<T, false>, SnnTorchLanes<3> {
  using Args = std::tuple<at::Tensor, at::Tensor, at::Tensor, int64_t, bool>;
  static void check(const char* op, const at::Tensor& alpha, const at::Tensor& beta,
                    const at::Tensor& threshold, int64_t reset_mechanism, bool) {
    check_input(op, "alpha", alpha);
    LeakyNeuron<T>::check(op, beta, threshold, reset_mechanism, false);
  }
  SynapticNeuron(const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t reset_mechanism,
                 bool reset_delay)
      : SynapticFamily<T, false>{{reset_mechanism, reset_delay}} {}
  static const char* lane_name(int k) { return k == 0 ? "alpha" : k == 1 ? "beta" : "threshold"; }
  template <class... A>
  static std::array<at::Tensor, 3> lanes(const at::Tensor& alpha, const at::Tensor& beta,
                                         const at::Tensor& threshold, const A&...) {
    return {alpha, beta, threshold};
  }
};

// RSynaptic: the recurrent layer's output first (recurrent_input), then Synaptic's arguments.
template <class T>
struct RSynapticNeuron : SynapticFamily<T, true> {
  using Args = std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, int64_t, bool>;
  static void check(const char* op, const at::Tensor& rec, const at::Tensor& alpha,
                    const at::Tensor& beta, const at::Tensor& threshold, int64_t reset_mechanism,
                    bool) {
    check_input(op, "recurrent_input", rec);
    SynapticNeuron<T>::check(op, alpha, beta, threshold, reset_mechanism, false);
  }
  RSynapticNeuron(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                  int64_t reset_mechanism, bool reset_delay)
      : SynapticFamily<T, true>{{reset_mechanism, reset_delay}} {}
  static const char* lane_name(int k) {
    return k == 0 ? "alpha" : k == 1 ? "beta" : k == 2 ? "threshold" : "recurrent_input";
  }
  template <class... A>
  static std::array<at::Tensor, 4> lanes(const at::Tensor& rec, const at::Tensor& alpha,
                                         const at::Tensor& beta, const at::Tensor& threshold,
                                         const A&...) {
    return {alpha, beta, threshold, rec};
  }
  template <class... A>
  static std::vector<at::Tensor> gradients(const std::array<at::Tensor, 4>& grads,
                                           const std::array<at::Tensor, 4>&, const A&...) {
    return {grads[3], grads[0], grads[1], grads[2]};
  }
};

// Alpha (snnTorch's Alpha), three states: mem, the excitatory and the inhibitory currents. Lanes:
// alpha, beta, threshold, and tau_alpha = log(alpha) / (log(beta) - log(alpha)) + 1 (alpha and
// beta clamped), which the host computes with torch's ops as snnTorch does.
//   se' = alpha se + x;  si' = beta si - x;  b0 = tau_alpha (se' + si')
//   subtract: se' - threshold r, si' - si' r, b0 - (-si) r   (snnTorch's _base_sub, as coded)
//   zero:     se' - se' r,       si' - si' r, b0 - b0 r
// The membrane carried reaches the next step only through the reset (no leak of its own).
template <class T>
struct AlphaNeuron {
  using opmath = T;
  static constexpr int kStates = 3, kParams = 4;
  static constexpr int kAlpha = 0, kBeta = 1, kThreshold = 2, kTau = 3;
  using Args = std::tuple<at::Tensor, at::Tensor, at::Tensor, int64_t>;
  static void check(const char* op, const at::Tensor& alpha, const at::Tensor& beta,
                    const at::Tensor& threshold, int64_t reset_mechanism) {
    check_input(op, "alpha", alpha);
    LeakyNeuron<T>::check(op, beta, threshold, reset_mechanism, false);
  }
  SnnTorchReset reset;
  AlphaNeuron(const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t reset_mechanism)
      : reset{reset_mechanism, true} {}
  static const char* lane_name(int k) {
    return k == 0 ? "alpha" : k == 1 ? "beta" : k == 2 ? "threshold" : "alpha and beta";
  }
  template <class... A>
  static std::array<at::Tensor, 4> lanes(const at::Tensor& alpha, const at::Tensor& beta,
                                         const at::Tensor& threshold, const A&...) {
    const at::Tensor log_alpha = at::log(at::clamp(alpha, 0, 1));
    const at::Tensor log_beta = at::log(at::clamp(beta, 0, 1));
    return {alpha, beta, threshold, at::add(at::div(log_alpha, at::sub(log_beta, log_alpha)), 1)};
  }
  // tau_alpha's gradient shared out: d tau / d log(alpha) = lb / (lb - la)^2, d tau / d log(beta)
  // = -la / (lb - la)^2, times torch.clamp's gradient over the clamped value
  template <class... A>
  static std::vector<at::Tensor> gradients(const std::array<at::Tensor, 4>& grads,
                                           const std::array<at::Tensor, 4>&,
                                           const at::Tensor& alpha, const at::Tensor& beta,
                                           const A&...) {
    const at::Tensor a = at::clamp(alpha.to(at::kDouble), 0, 1), b = at::clamp(beta.to(at::kDouble), 0, 1);
    const at::Tensor la = at::log(a), lb = at::log(b), d = lb - la;
    const at::Tensor in_a = clamp_unit_passes(alpha), in_b = clamp_unit_passes(beta);
    const at::Tensor g_alpha = grads[kAlpha] + at::where(in_a, grads[kTau] * lb / (d * d) / a, 0);
    const at::Tensor g_beta = grads[kBeta] - at::where(in_b, grads[kTau] * la / (d * d) / b, 0);
    return {at::sum_to(g_alpha, alpha.sizes()), at::sum_to(g_beta, beta.sizes()), grads[kThreshold]};
  }

  template <class V, class F>
  C10_HOST_DEVICE V excitatory(const StepIn<V, F>& in) const {
    return clamp_unit(in.p[kAlpha]) * in.state[1] + in.x;
  }
  template <class V, class F>
  C10_HOST_DEVICE V inhibitory(const StepIn<V, F>& in) const {
    return clamp_unit(in.p[kBeta]) * in.state[2] - in.x;
  }
  template <class V, class F>
  C10_HOST_DEVICE V charge(const StepIn<V, F>& in) const {
    const V threshold = in.p[kThreshold], r = reset.decided(in, threshold);
    const V b0 = in.p[kTau] * (excitatory(in) + inhibitory(in));
    if (reset.mechanism == 0) return b0 - (-in.state[2]) * r;
    return reset.in_charge(b0, r, threshold);
  }
  template <class V, class F>
  C10_HOST_DEVICE V fire_input(const StepIn<V, F>& in, V h) const { return h - in.p[kThreshold]; }
  template <class V, class F>
  C10_HOST_DEVICE void next(const StepIn<V, F>& in, V h, V, Values<V, 3>& out) const {
    const V threshold = in.p[kThreshold], r = reset.decided(in, threshold);
    const V se = excitatory(in), si = inhibitory(in);
    out[0] = h;
    out[1] = reset.mechanism == 0 ? se - threshold * r : reset.mechanism == 1 ? se - se * r : se;
    out[2] = reset.mechanism == 2 ? si : si - si * r;
  }
  template <class V, class F>
  C10_HOST_DEVICE void vjp(const StepIn<V, F>& in, V, V, V sg, V gz, const Values<V, 3>& g_next,
                           StepGrad<V, F>& g) const {
    const V threshold = in.p[kThreshold], r = reset.decided(in, threshold);
    const V gse = g_next[1], gsi = g_next[2];
    const V gu = gz * sg, gh = gu + g_next[0];
    const V gb0 = reset.mechanism == 1 ? gh * (V(1) - r) : gh;
    const V kept_se = reset.mechanism == 1 ? V(1) - r : V(1);  // d se_next / d se'
    const V kept_si = reset.mechanism == 2 ? V(1) : V(1) - r;  // d si_next / d si'
    const V gse1 = gse * kept_se + gb0 * in.p[kTau];           // reaching se'
    const V gsi1 = gsi * kept_si + gb0 * in.p[kTau];           // reaching si'
    g.state[0] = V(0);
    g.state[1] = gse1 * clamp_unit(in.p[kAlpha]);
    g.state[2] = gsi1 * clamp_unit(in.p[kBeta]) + (reset.mechanism == 0 ? gh * r : V(0));
    g.x = gse1 - gsi1;
    g.p[kAlpha] = gse1 * in.state[1] * clamp_unit_grad(in.p[kAlpha]);
    g.p[kBeta] = gsi1 * in.state[2] * clamp_unit_grad(in.p[kBeta]);
    g.p[kThreshold] = reset.mechanism == 0 ? -gu - gse * r : -gu;
    g.p[kTau] = gb0 * (excitatory(in) + inhibitory(in));
  }
};

// Lapicque (snnTorch's Lapicque): the RC circuit of time step time_step,
//   b0 = ((x R) (1 / (R C))) time_step + (1 - time_step / (R C)) mem
// then the reset in the charge. Lanes: R, 1 / (R C), time_step, 1 - time_step / (R C), threshold,
// the coefficients computed by the host with torch's ops, as snnTorch's step computes them.
template <class T>
struct LapicqueNeuron {
  using opmath = T;
  static constexpr int kStates = 1, kParams = 5;
  static constexpr int kR = 0, kInvRC = 1, kStep = 2, kKeep = 3, kThreshold = 4;
  using Args = std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, int64_t>;
  static void check(const char* op, const at::Tensor& R, const at::Tensor& C,
                    const at::Tensor& time_step, const at::Tensor& threshold, int64_t reset_mechanism) {
    check_input(op, "R", R);
    check_input(op, "C", C);
    check_input(op, "time_step", time_step);
    check_input(op, "threshold", threshold);
    check_reset_mechanism(op, reset_mechanism);
  }
  SnnTorchReset reset;
  LapicqueNeuron(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                 int64_t reset_mechanism)
      : reset{reset_mechanism, true} {}
  static const char* lane_name(int k) {
    return k == kR ? "R" : k == kInvRC ? "R and C" : k == kStep ? "time_step"
                     : k == kKeep ? "R, C and time_step" : "threshold";
  }
  template <class... A>
  static std::array<at::Tensor, 5> lanes(const at::Tensor& R, const at::Tensor& C,
                                         const at::Tensor& time_step, const at::Tensor& threshold,
                                         const A&...) {
    const at::Tensor RC = R * C;
    return {R, at::reciprocal(RC), time_step, at::rsub(at::div(time_step, RC), 1), threshold};
  }
  // with k = 1 / (R C): dk/dR = -k^2 C, dk/dC = -k^2 R; keep = 1 - time_step k:
  // dkeep/dR = time_step k^2 C, dkeep/dC = time_step k^2 R, dkeep/dtime_step = -k
  template <class... A>
  static std::vector<at::Tensor> gradients(const std::array<at::Tensor, 5>& grads,
                                           const std::array<at::Tensor, 5>&, const at::Tensor& R,
                                           const at::Tensor& C, const at::Tensor& time_step,
                                           const A&...) {
    const at::Tensor r = R.to(at::kDouble), c = C.to(at::kDouble), ts = time_step.to(at::kDouble);
    const at::Tensor k = at::reciprocal(r * c), k2 = k * k;
    const at::Tensor g_k = grads[kInvRC], g_keep = grads[kKeep];
    return {at::sum_to(grads[kR] + (g_keep * ts - g_k) * k2 * c, R.sizes()),
            at::sum_to((g_keep * ts - g_k) * k2 * r, C.sizes()),
            at::sum_to(grads[kStep] - g_keep * k, time_step.sizes()), grads[kThreshold]};
  }

  template <class V, class F>
  C10_HOST_DEVICE V charge(const StepIn<V, F>& in) const {
    const V threshold = in.p[kThreshold];
    const V b0 = in.x * in.p[kR] * in.p[kInvRC] * in.p[kStep] + in.p[kKeep] * in.state[0];
    return reset.in_charge(b0, reset.decided(in, threshold), threshold);
  }
  template <class V, class F>
  C10_HOST_DEVICE V fire_input(const StepIn<V, F>& in, V h) const { return h - in.p[kThreshold]; }
  template <class V, class F>
  C10_HOST_DEVICE void next(const StepIn<V, F>&, V h, V, Values<V, 1>& out) const { out[0] = h; }
  template <class V, class F>
  C10_HOST_DEVICE void vjp(const StepIn<V, F>& in, V, V, V sg, V gz, const Values<V, 1>& g_next,
                           StepGrad<V, F>& g) const {
    const V threshold = in.p[kThreshold], r = reset.decided(in, threshold);
    const V gu = gz * sg, gh = gu + g_next[0];
    const V gb0 = gh * reset.in_charge_d_b0(r);
    const V xR = in.x * in.p[kR];
    g.state[0] = gb0 * in.p[kKeep];
    g.x = gb0 * in.p[kR] * in.p[kInvRC] * in.p[kStep];
    g.p[kR] = gb0 * in.x * in.p[kInvRC] * in.p[kStep];
    g.p[kInvRC] = gb0 * xR * in.p[kStep];
    g.p[kStep] = gb0 * xR * in.p[kInvRC];
    g.p[kKeep] = gb0 * in.state[0];
    g.p[kThreshold] = -gu + gh * reset.in_charge_d_threshold(r);
  }
};

// --- Norse 1.1.0 (norse.torch.functional: lif, lif_box, leaky_integrator) ----------------------
//
// Norse's forward-Euler step of length dt (an argument). Its rates enter as lanes dt tau_mem_inv
// and -dt tau_syn_inv, which the host computes with torch's ops as Norse's step does
// (`dt * p.tau_mem_inv`, `-dt * p.tau_syn_inv`), so that the charge rounds as Norse's. Every
// other parameter is a tensor argument (one value, or one per neuron), as Norse's fields are.
// A rate lane: dt tau_inv (torch.mul(tau_inv, dt), as Norse's `dt * p.tau_mem_inv`).
inline at::Tensor norse_rate(const at::Tensor& tau_inv, double dt) { return at::mul(tau_inv, dt); }

// LIF's feed-forward step (lif_feed_forward_step) and, with kFires false, the leaky integrator's
// (li_feed_forward_step), two states, v and the synaptic current i. Lanes: dt tau_mem_inv,
// -dt tau_syn_inv, v_leak[, v_th, v_reset].
//   i' = i + x;  h = v + (dt tau_mem_inv) ((v_leak - v) + i');  i = i' + (-dt tau_syn_inv) i'
//   LIF: z = fire(h - v_th);  v = (1 - z) h + z v_reset   (z not detached, as Norse's step)
//   LI:  v = h; it never fires: u = -1, so z = 0, and the spike's gradient reaches nothing
template <class T, bool kFires>
struct NorseCurrentFamily {
  using opmath = T;
  static constexpr int kStates = 2, kParams = kFires ? 5 : 3;
  static constexpr int kMem = 0, kSyn = 1, kLeak = 2, kTh = 3, kReset = 4;

  template <class V, class F>
  C10_HOST_DEVICE V current(const StepIn<V, F>& in) const { return in.state[1] + in.x; }
  template <class V, class F>
  C10_HOST_DEVICE V charge(const StepIn<V, F>& in) const {
    return in.state[0] + in.p[kMem] * ((in.p[kLeak] - in.state[0]) + current(in));
  }
  template <class V, class F>
  C10_HOST_DEVICE V fire_input(const StepIn<V, F>& in, V h) const {
    if constexpr (kFires) {
      return h - in.p[kTh];
    } else {
      return V(-1);
    }
  }
  template <class V, class F>
  C10_HOST_DEVICE void next(const StepIn<V, F>& in, V h, V z, Values<V, 2>& out) const {
    const V c = current(in);
    if constexpr (kFires) {
      out[0] = (V(1) - z) * h + z * in.p[kReset];
    } else {
      out[0] = h;
    }
    out[1] = c + in.p[kSyn] * c;
  }
  template <class V, class F>
  C10_HOST_DEVICE void vjp(const StepIn<V, F>& in, V h, V z, V sg, V gz, const Values<V, 2>& g_next,
                           StepGrad<V, F>& g) const {
    const V gv = g_next[0], c = current(in), m = in.p[kMem];
    V gh = gv;  // reaching h
    if constexpr (kFires) {
      const V gu = (gz + gv * (in.p[kReset] - h)) * sg;
      gh = gu + gv * (V(1) - z);
      g.p[kTh] = -gu;
      g.p[kReset] = gv * z;
    }
    const V gc = gh * m + g_next[1] * (V(1) + in.p[kSyn]);  // reaching i'
    g.state[0] = gh * (V(1) - m);
    g.state[1] = gc;
    g.x = gc;
    g.p[kMem] = gh * ((in.p[kLeak] - in.state[0]) + c);
    g.p[kSyn] = g_next[1] * c;
    g.p[kLeak] = gh * m;
  }

  static const char* lane_name(int k) {
    return k == kMem ? "tau_mem_inv" : k == kSyn ? "tau_syn_inv" : k == kLeak ? "v_leak"
                     : k == kTh ? "v_th" : "v_reset";
  }
  // schema order: tau_syn_inv, tau_mem_inv, v_leak[, v_th, v_reset], dt
  static std::array<at::Tensor, kParams> rate_lanes(const at::Tensor& tau_syn_inv,
                                                    const at::Tensor& tau_mem_inv,
                                                    const at::Tensor& v_leak, double dt) {
    std::array<at::Tensor, kParams> out;
    out[kMem] = norse_rate(tau_mem_inv, dt);
    out[kSyn] = norse_rate(tau_syn_inv, -dt);
    out[kLeak] = v_leak;
    return out;
  }
  static std::vector<at::Tensor> rate_gradients(const std::array<at::Tensor, kParams>& grads,
                                                double dt) {
    std::vector<at::Tensor> out{grads[kSyn] * (-dt), grads[kMem] * dt};
    for (int k = kLeak; k < kParams; ++k) out.push_back(grads[k]);
    return out;
  }
};

template <class T>
struct NorseLIFNeuron : NorseCurrentFamily<T, true> {
  using Base = NorseCurrentFamily<T, true>;
  using Args = std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, double>;
  static void check(const char* op, const at::Tensor& tau_syn_inv, const at::Tensor& tau_mem_inv,
                    const at::Tensor& v_leak, const at::Tensor& v_th, const at::Tensor& v_reset,
                    double dt) {
    check_input(op, "tau_syn_inv", tau_syn_inv);
    check_input(op, "tau_mem_inv", tau_mem_inv);
    check_input(op, "v_leak", v_leak);
    check_input(op, "v_th", v_th);
    check_input(op, "v_reset", v_reset);
    check_positive(op, "dt", dt);
  }
  NorseLIFNeuron(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                 const at::Tensor&, double) {}
  static std::array<at::Tensor, 5> lanes(const at::Tensor& tau_syn_inv, const at::Tensor& tau_mem_inv,
                                         const at::Tensor& v_leak, const at::Tensor& v_th,
                                         const at::Tensor& v_reset, double dt) {
    std::array<at::Tensor, 5> out = Base::rate_lanes(tau_syn_inv, tau_mem_inv, v_leak, dt);
    out[Base::kTh] = v_th;
    out[Base::kReset] = v_reset;
    return out;
  }
  static std::vector<at::Tensor> gradients(const std::array<at::Tensor, 5>& grads,
                                           const std::array<at::Tensor, 5>&, const at::Tensor&,
                                           const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                           const at::Tensor&, double dt) {
    return Base::rate_gradients(grads, dt);
  }
};

template <class T>
struct NorseLINeuron : NorseCurrentFamily<T, false> {
  using Base = NorseCurrentFamily<T, false>;
  using Args = std::tuple<at::Tensor, at::Tensor, at::Tensor, double>;
  static void check(const char* op, const at::Tensor& tau_syn_inv, const at::Tensor& tau_mem_inv,
                    const at::Tensor& v_leak, double dt) {
    check_input(op, "tau_syn_inv", tau_syn_inv);
    check_input(op, "tau_mem_inv", tau_mem_inv);
    check_input(op, "v_leak", v_leak);
    check_positive(op, "dt", dt);
  }
  NorseLINeuron(const at::Tensor&, const at::Tensor&, const at::Tensor&, double) {}
  static std::array<at::Tensor, 3> lanes(const at::Tensor& tau_syn_inv, const at::Tensor& tau_mem_inv,
                                         const at::Tensor& v_leak, double dt) {
    return Base::rate_lanes(tau_syn_inv, tau_mem_inv, v_leak, dt);
  }
  static std::vector<at::Tensor> gradients(const std::array<at::Tensor, 3>& grads,
                                           const std::array<at::Tensor, 3>&, const at::Tensor&,
                                           const at::Tensor&, const at::Tensor&, double dt) {
    return Base::rate_gradients(grads, dt);
  }
};

// LIFBox (lif_box_feed_forward_step), one state v, no current. Lanes: dt tau_mem_inv, v_leak,
// v_th, v_reset.
//   h = v + (dt tau_mem_inv) ((x + v_leak) - v);  z = fire(h - v_th)
//   reset_value: v = (1 - z) h + z v_reset;  reset_subtract: v = (1 - z) h + z (h - v_th)
template <class T>
struct NorseLIFBoxNeuron {
  using opmath = T;
  static constexpr int kStates = 1, kParams = 4;
  static constexpr int kMem = 0, kLeak = 1, kTh = 2, kReset = 3;
  using Args = std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, bool, double>;
  bool subtract;

  static void check(const char* op, const at::Tensor& tau_mem_inv, const at::Tensor& v_leak,
                    const at::Tensor& v_th, const at::Tensor& v_reset, bool, double dt) {
    check_input(op, "tau_mem_inv", tau_mem_inv);
    check_input(op, "v_leak", v_leak);
    check_input(op, "v_th", v_th);
    check_input(op, "v_reset", v_reset);
    check_positive(op, "dt", dt);
  }
  NorseLIFBoxNeuron(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                    bool subtract_reset, double)
      : subtract(subtract_reset) {}
  static const char* lane_name(int k) {
    return k == kMem ? "tau_mem_inv" : k == kLeak ? "v_leak" : k == kTh ? "v_th" : "v_reset";
  }
  static std::array<at::Tensor, 4> lanes(const at::Tensor& tau_mem_inv, const at::Tensor& v_leak,
                                         const at::Tensor& v_th, const at::Tensor& v_reset, bool,
                                         double dt) {
    return {norse_rate(tau_mem_inv, dt), v_leak, v_th, v_reset};
  }
  static std::vector<at::Tensor> gradients(const std::array<at::Tensor, 4>& grads,
                                           const std::array<at::Tensor, 4>&, const at::Tensor&,
                                           const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                           bool, double dt) {
    return {grads[kMem] * dt, grads[kLeak], grads[kTh], grads[kReset]};
  }

  template <class V, class F>
  C10_HOST_DEVICE V charge(const StepIn<V, F>& in) const {
    return in.state[0] + in.p[kMem] * ((in.x + in.p[kLeak]) - in.state[0]);
  }
  template <class V, class F>
  C10_HOST_DEVICE V fire_input(const StepIn<V, F>& in, V h) const { return h - in.p[kTh]; }
  template <class V, class F>
  C10_HOST_DEVICE void next(const StepIn<V, F>& in, V h, V z, Values<V, 1>& out) const {
    out[0] = (V(1) - z) * h + z * (subtract ? h - in.p[kTh] : in.p[kReset]);
  }
  template <class V, class F>
  C10_HOST_DEVICE void vjp(const StepIn<V, F>& in, V h, V z, V sg, V gz, const Values<V, 1>& g_next,
                           StepGrad<V, F>& g) const {
    const V gv = g_next[0], m = in.p[kMem];
    const V target = subtract ? h - in.p[kTh] : in.p[kReset];  // what z moves v to
    const V gu = (gz + gv * (target - h)) * sg;
    const V gh = gu + gv * (subtract ? (V(1) - z) + z : V(1) - z);
    g.state[0] = gh * (V(1) - m);
    g.x = gh * m;
    g.p[kMem] = gh * ((in.x + in.p[kLeak]) - in.state[0]);
    g.p[kLeak] = gh * m;
    g.p[kTh] = subtract ? -gu - gv * z : -gu;
    g.p[kReset] = subtract ? V(0) : gv * z;
  }
};

// The names of a family's states: v, then the table's extra states ("w", or "syn_exc,syn_inh").
inline std::vector<std::string> neuron_state_names(const std::string& extra) {
  std::vector<std::string> names{"v"};
  for (size_t begin = 0; begin < extra.size();) {
    const size_t end = std::min(extra.find(',', begin), extra.size());
    names.push_back(extra.substr(begin, end - begin));
    begin = end + 1;
  }
  return names;
}

// The table. X(name, Functor, "extra states", ", schema arguments"): the operators
// name_multistep, name_step and their backwards (neuron_ops.h), with the names of the states after
// v (comma-separated, "" for v alone; kStates of the functor counts them all) and the family's
// arguments, which come after the states.
#define SURROGATE_EXT_FOR_EACH_NEURON(X)                                                          \
  X(if, IFNeuron, "", SURROGATE_EXT_SPIKINGJELLY_RESET)                                           \
  X(lif, LIFNeuron, "", ", float tau, bool decay_input, bool factored_leak"                        \
    SURROGATE_EXT_SPIKINGJELLY_RESET)                                                             \
  X(plif, PLIFNeuron, "", ", Tensor w, bool decay_input, bool factored_leak"                       \
    SURROGATE_EXT_SPIKINGJELLY_RESET)                                                             \
  X(qif, QIFNeuron, "", ", float tau, float v_c, float a0, float v_rest"                           \
    SURROGATE_EXT_SPIKINGJELLY_RESET)                                                             \
  X(eif, EIFNeuron, "", ", float tau, float delta_T, float theta_rh, float v_rest"                 \
    SURROGATE_EXT_SPIKINGJELLY_RESET)                                                             \
  X(izhikevich, IzhikevichNeuron, "w",                                                            \
    ", float tau, float v_c, float a0, float v_rest, float tau_w, float a, float b"                \
    SURROGATE_EXT_SPIKINGJELLY_RESET)                                                             \
  X(cuba_lif, CUBALIFNeuron, "c", ", float c_decay, float v_decay" SURROGATE_EXT_SPIKINGJELLY_RESET) \
  X(klif, KLIFNeuron, "", ", Tensor k, float tau, bool decay_input, bool scale_reset"             \
    SURROGATE_EXT_SPIKINGJELLY_RESET)                                                             \
  X(ilif, ILIFNeuron, "", ", float tau, bool factored_leak, float v_threshold, bool detach_reset") \
  X(raf, RAFNeuron, "u", ", float b, float omega, float dt" SURROGATE_EXT_SPIKINGJELLY_RESET) \
  X(leaky, LeakyNeuron, "", ", Tensor beta" SURROGATE_EXT_SNNTORCH_RESET ", bool reset_delay")     \
  X(rleaky, RLeakyNeuron, "", ", Tensor recurrent_input, Tensor beta" SURROGATE_EXT_SNNTORCH_RESET \
    ", bool reset_delay")                                                                         \
  X(synaptic, SynapticNeuron, "syn", ", Tensor alpha, Tensor beta" SURROGATE_EXT_SNNTORCH_RESET    \
    ", bool reset_delay")                                                                         \
  X(rsynaptic, RSynapticNeuron, "syn", ", Tensor recurrent_input, Tensor alpha, Tensor beta"       \
    SURROGATE_EXT_SNNTORCH_RESET ", bool reset_delay")                                            \
  X(alpha, AlphaNeuron, "syn_exc,syn_inh", ", Tensor alpha, Tensor beta" SURROGATE_EXT_SNNTORCH_RESET) \
  X(lapicque, LapicqueNeuron, "", ", Tensor R, Tensor C, Tensor time_step" SURROGATE_EXT_SNNTORCH_RESET) \
  X(norse_lif, NorseLIFNeuron, "i",                                                               \
    ", Tensor tau_syn_inv, Tensor tau_mem_inv, Tensor v_leak, Tensor v_th, Tensor v_reset, float dt") \
  X(norse_lif_box, NorseLIFBoxNeuron, "",                                                         \
    ", Tensor tau_mem_inv, Tensor v_leak, Tensor v_th, Tensor v_reset, bool subtract_reset, float dt") \
  X(norse_li, NorseLINeuron, "i", ", Tensor tau_syn_inv, Tensor tau_mem_inv, Tensor v_leak, float dt")

}  // namespace surrogate_ext
