#pragma once
// The neuron engine's template: one neuron family (a dynamics functor of neurons.h) combined with
// a fire rule (the step, or a surrogate's own spike count) and, in the backward, any surrogate's
// gradient. The CPU and CUDA kernels loop over neurons and time steps and call the cells below, a
// lane at a time (a scalar of the opmath type, or a CPU SIMD vector of neurons); no neuron's math
// is written here, and none is written twice.
//
// One step of a neuron, for state s[t-1] (v, and the family's other states: Izhikevich's w, ...),
// input x[t] and the family's per-neuron parameters p:
//   h    = charge(s[t-1], x[t], p)          the family; rounded to the storage type
//   u    = fire_input(s[t-1], p, h)         the family: h - v_threshold (h / v_threshold for I-LIF)
//   z[t] = fire(u)                          heaviside(u) (u > 0 when strict), or the surrogate's
//                                           own spike count (MultiLevelSpikeCount)
//   s[t] = next(s[t-1], x[t], p, h, z[t])   the family: the reset rule on v, the other states
// The backward recomputes h and u from the saved states (the same expressions on the same values,
// so the same bits) and walks t = T-1 .. 0 with the gradient reaching s[t] (from the state outputs
// and from step t+1) as its carry. The family's vjp() turns (grad of z[t], grad of s[t], g'(u))
// into the gradients of s[t-1], x[t] and p, where g' is the surrogate's gradient times grad_scale,
// evaluated by the backend a row of neurons at a time (see cpu/multistep.h, cuda/multistep_ops.cu),
// so that the kernels are compiled once per family, not once per family and surrogate.

#include <surrogate_ext/math.h>
#include <surrogate_ext/surrogates.h>

#include <c10/macros/Macros.h>

#include <cstdint>
#include <tuple>

namespace surrogate_ext {

// Loads and stores of one lane: a scalar of the opmath type here; the CPU kernels specialise it
// for SIMD vectors. round() is what storing to and reloading from the storage type does.
template <class V>
struct Lane {
  template <class S>
  static C10_HOST_DEVICE V load(const S* p) { return static_cast<V>(*p); }
  template <class S>
  static C10_HOST_DEVICE void store(S* p, V v) { *p = static_cast<S>(v); }
  template <class S>
  static C10_HOST_DEVICE V round(V v) { return static_cast<V>(static_cast<S>(v)); }
};

// N values of one lane (N may be 0: a family without tensor parameters).
template <class V, int N>
struct Values {
  V v[N > 0 ? N : 1];
  C10_HOST_DEVICE V& operator[](int i) { return v[i]; }
  C10_HOST_DEVICE const V& operator[](int i) const { return v[i]; }
};

// A parameter the kernels read per neuron, in the opmath type: one value for every neuron
// (stride 0) or one per neuron (stride 1, the parameter expanded to the neurons' shape).
template <class T>
struct ParamLanes {
  const T* values;
  int64_t stride;
  template <class V>
  C10_HOST_DEVICE V at(int64_t n) const {
    return stride != 0 ? Lane<V>::load(values + n) : V(values[0]);
  }
};

// The reset rule of SpikingJelly's neurons (and of the families that take theirs):
//   hard (v_reset given): v = (1 - z) h + z v_reset;  soft: v = h - z v_threshold;  none: v = h.
// detach_reset drops the reset's dependence on z from the backward.
template <class T>
struct ResetRule {
  enum Kind : int { kHard = 0, kSoft = 1, kNone = 2 };
  int kind;
  bool detach;
  T v_threshold, v_reset;

  template <class V>
  C10_HOST_DEVICE V apply(V h, V z) const {
    if (kind == kHard) return (V(1) - z) * h + z * V(v_reset);
    if (kind == kSoft) return h - z * V(v_threshold);
    return h;
  }
  // d apply / d h
  template <class V>
  C10_HOST_DEVICE V d_h(V z) const {
    return kind == kHard ? V(1) - z : V(1);
  }
  // d apply / d z (0 with detach_reset)
  template <class V>
  C10_HOST_DEVICE V d_z(V h) const {
    if (detach || kind == kNone) return V(0);
    return kind == kHard ? V(v_reset) - h : V(-v_threshold);
  }
};

template <class T>
struct Fire;

// The step's inputs in one lane: the state before it, the input, the parameters, and the call's
// fire rule (snnTorch's families fire the previous state to find the reset they apply).
template <class V, class F>
struct StepIn {
  Values<V, F::kStates> state;
  V x;
  Values<V, F::kParams> p;
  const Fire<typename F::opmath>* fire;
};

// The gradients a step's vjp() gives: of the state before it, of the input, of the parameters.
template <class V, class F>
struct StepGrad {
  Values<V, F::kStates> state;
  V x;
  Values<V, F::kParams> p;
};

// How a step fires: heaviside (strict: u > 0), or the spike count of the table's surrogates that
// have a forward of their own (SURROGATE_EXT_FOR_EACH_OTHER_SURROGATE: MultiLevelSpikeCount),
// called through its functor. A runtime choice, uniform across a call: one kernel serves both.
// Built on the host (the unused functors hold their parameters' zero values).
template <class T>
struct Fire {
  int own = 0;  // 0: heaviside; k > 0: the k-th surrogate of SURROGATE_EXT_FOR_EACH_OTHER_SURROGATE
  bool strict = false;
#define SURROGATE_EXT_OWN_SPIKE_MEMBER(op, Functor, params) \
  Functor<T> op = std::make_from_tuple<Functor<T>>(typename Functor<float>::Args{});
  SURROGATE_EXT_FOR_EACH_OTHER_SURROGATE(SURROGATE_EXT_OWN_SPIKE_MEMBER)
#undef SURROGATE_EXT_OWN_SPIKE_MEMBER

  template <class V>
  C10_HOST_DEVICE V operator()(V u) const {
    int k = 0;
#define SURROGATE_EXT_OWN_SPIKE_CASE(op, Functor, params) \
  if (own == ++k) return op.template spike<V>(u);
    SURROGATE_EXT_FOR_EACH_OTHER_SURROGATE(SURROGATE_EXT_OWN_SPIKE_CASE)
#undef SURROGATE_EXT_OWN_SPIKE_CASE
    return Heaviside<T>(strict).template primitive<V>(u);
  }
};

// The tensors of one forward call. x and spike are [T, N]; the state sequences seq[k] are
// [T, N] (for the single-step operators, T = 1 and seq[k] is the next state itself); init[k] and
// last[k] (the state after the last step; null when not wanted) are [N].
template <class scalar_t, class F>
struct ForwardArgs {
  using T = typename F::opmath;
  F f;
  Fire<T> fire;
  int64_t steps, N;
  const scalar_t* x;
  Values<const scalar_t*, F::kStates> init;
  scalar_t* spike;
  Values<scalar_t*, F::kStates> seq;
  Values<scalar_t*, F::kStates> last;
  Values<ParamLanes<T>, F::kParams> p;
};

// The tensors of one backward call. grad_seq[k] ([T, N]) and grad_last[k] ([N]) are null where no
// gradient reaches that output (a gradient of the last state enters the recurrence as the carry of
// the last step); grad_p[k] ([N], opmath type) receives each neuron's sum over the steps of the
// gradient of parameter k, which the host then sums over neurons; null for a parameter whose
// gradient is not wanted (the backward's output_mask).
template <class scalar_t, class F>
struct BackwardArgs {
  using T = typename F::opmath;
  F f;
  Fire<T> fire;
  int64_t steps, N;
  const scalar_t* grad_spike;
  Values<const scalar_t*, F::kStates> grad_seq;
  Values<const scalar_t*, F::kStates> grad_last;
  const scalar_t* x;
  Values<const scalar_t*, F::kStates> init;
  Values<const scalar_t*, F::kStates> seq;
  scalar_t* grad_x;
  Values<scalar_t*, F::kStates> grad_init;
  Values<T*, F::kParams> grad_p;
  Values<ParamLanes<T>, F::kParams> p;
};

// The inputs of step t for the lane at neuron n; `state` holds the state before the step.
template <class V, class F, class Args>
C10_HOST_DEVICE StepIn<V, F> step_in(const Args& a, int64_t t, int64_t n,
                                     const Values<V, F::kStates>& state) {
  StepIn<V, F> in;
  in.state = state;
  in.x = Lane<V>::load(a.x + t * a.N + n);
  for (int k = 0; k < F::kParams; ++k) in.p[k] = a.p[k].template at<V>(n);
  in.fire = &a.fire;
  return in;
}

// h of a step, rounded to the storage type: the forward computes it, and the backward recomputes
// it from the saved states (the same expression on the same values, so the same h bit for bit).
template <class scalar_t, class V, class F>
C10_HOST_DEVICE V charged(const F& f, const StepIn<V, F>& in) {
  return Lane<V>::template round<scalar_t>(f.charge(in));
}

// Step t of the lane at neuron n: `state` holds s[t-1] and becomes s[t]; z[t] and s[t] are
// stored. The kernels call it for t = 0 .. T-1, then store the state as the last-state outputs.
template <class V, class scalar_t, class F>
C10_HOST_DEVICE void forward_cell(const ForwardArgs<scalar_t, F>& a, int64_t t, int64_t n,
                                  Values<V, F::kStates>& state) {
  using L = Lane<V>;
  const int64_t i = t * a.N + n;
  const StepIn<V, F> in = step_in<V, F>(a, t, n, state);
  const V h = charged<scalar_t>(a.f, in);
  const V z = a.fire(a.f.fire_input(in, h));
  Values<V, F::kStates> next;
  a.f.next(in, h, z, next);
  L::store(a.spike + i, z);
  for (int k = 0; k < F::kStates; ++k) {
    state[k] = L::template round<scalar_t>(next[k]);
    L::store(a.seq[k] + i, state[k]);
  }
}

// The state before step t in the backward: the saved s[t-1], or the initial state.
template <class V, class scalar_t, class F>
C10_HOST_DEVICE Values<V, F::kStates> state_before(const BackwardArgs<scalar_t, F>& a, int64_t t,
                                                   int64_t n) {
  Values<V, F::kStates> state;
  for (int k = 0; k < F::kStates; ++k) {
    state[k] = t > 0 ? Lane<V>::load(a.seq[k] + (t - 1) * a.N + n) : Lane<V>::load(a.init[k] + n);
  }
  return state;
}

// h and u of step t, recomputed from the saved states: where the backend evaluates the surrogate
// gradient g'(u) (the CPU keeps both for the BPTT pass; CUDA recomputes them there).
template <class V>
struct Charged {
  V h, u;
};

template <class V, class scalar_t, class F>
C10_HOST_DEVICE Charged<V> recharge(const BackwardArgs<scalar_t, F>& a, int64_t t, int64_t n) {
  const StepIn<V, F> in = step_in<V, F>(a, t, n, state_before<V>(a, t, n));
  const V h = charged<scalar_t>(a.f, in);
  return {h, a.f.fire_input(in, h)};
}

// The carries the backward starts from: the gradients reaching the last state.
template <class V, class scalar_t, class F>
C10_HOST_DEVICE void initial_carry(const BackwardArgs<scalar_t, F>& a, int64_t n,
                                   Values<V, F::kStates>& carry) {
  for (int k = 0; k < F::kStates; ++k) {
    carry[k] = a.grad_last[k] != nullptr ? Lane<V>::load(a.grad_last[k] + n) : V(0);
  }
}

// BPTT step t of the lane at neuron n, given its h and u (recharge()) and sg = g'(u): `carry`
// holds the gradient reaching s[t] from step t+1 and becomes the one reaching s[t-1]; grad_p
// accumulates the parameters' gradients. grad_x[t] is stored. The kernels start from
// initial_carry(), call it for t = T-1 .. 0, then store the carry as the initial states'
// gradients and grad_p as the partials.
template <class V, class scalar_t, class F>
C10_HOST_DEVICE void backward_cell(const BackwardArgs<scalar_t, F>& a, int64_t t, int64_t n,
                                   const Charged<V>& c, V sg, Values<V, F::kStates>& carry,
                                   Values<V, F::kParams>& grad_p) {
  using L = Lane<V>;
  const int64_t i = t * a.N + n;
  const StepIn<V, F> in = step_in<V, F>(a, t, n, state_before<V>(a, t, n));
  const V z = a.fire(c.u);
  Values<V, F::kStates> g_next;
  for (int k = 0; k < F::kStates; ++k) {
    g_next[k] = a.grad_seq[k] != nullptr ? carry[k] + L::load(a.grad_seq[k] + i) : carry[k];
  }
  StepGrad<V, F> g;
  a.f.vjp(in, c.h, z, sg, L::load(a.grad_spike + i), g_next, g);
  L::store(a.grad_x + i, g.x);
  carry = g.state;
  for (int k = 0; k < F::kParams; ++k) grad_p[k] = grad_p[k] + g.p[k];
}

}  // namespace surrogate_ext
