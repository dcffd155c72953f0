#pragma once
// The multi-step spiking neurons (IF, LIF, parametric LIF) as one fused recurrence over T steps,
// forward and BPTT backward, for one neuron (or one SIMD vector of neurons) at a time. The CPU and
// CUDA kernels loop over neurons and call these; the surrogate gradient is the functor of
// surrogates.h, so no formula is written twice.
//
// Dynamics (SpikingJelly 0.0.0.0.14, spikingjelly.clock_driven.neuron), per step t:
//   charge  h[t] = f(v[t-1], x[t])
//             IF:                      v + x
//             LIF,  decay_input:       v + (x - (v - v_reset)) / tau   (v_reset 0/None: v + (x - v) / tau)
//             LIF, !decay_input:       v - (v - v_reset) / tau + x     (v_reset 0/None: v * (1 - 1/tau) + x)
//             PLIF: the same with "/ tau" replaced by "* k", k = sigmoid(w)
//   fire    s[t] = heaviside(h[t] - v_threshold)           (backward: surrogate grad g'(h - v_threshold))
//           (strict: fires on h[t] - v_threshold > 0, snnTorch's and Norse's convention)
//   reset   hard: v[t] = (1 - s) h + s v_reset;  soft (v_reset None): v[t] = h - s v_threshold
// Each expression is evaluated in the same order as SpikingJelly's, so that in float32 and float64
// the spikes and potentials equal the step-by-step 'torch' backend's bit for bit. h and v are
// rounded to the storage type after each step (a no-op for float32/64), as a step-by-step
// computation in that type would round them. The forward saves no h: the backward recomputes h
// (and s) from v_seq and x_seq, which costs a read of x_seq instead of a whole [T, N] output.
//
// BPTT, with gv the gradient reaching v[t] (from the v_seq output and from step t+1):
//   dh = grad_s * g' + gv * dv/dh + gv * dv/ds * g' (the last term dropped with detach_reset)
//     hard: dv/dh = 1 - s, dv/ds = v_reset - h;  soft: dv/dh = 1, dv/ds = -v_threshold
//   grad_x[t] = dh * dh/dx,  gv(t-1) += dh * dh/dv,  grad_k += dh * dh/dk (PLIF)

#include <surrogate_ext/math.h>
#include <surrogate_ext/surrogates.h>

#include <c10/macros/Macros.h>

#include <cstdint>

namespace surrogate_ext {

enum class NeuronKind : int { IF = 0, LIF = 1, PLIF = 2 };

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

// The neuron's constants, in the opmath type T; built on the host by the operator.
template <class T>
struct NeuronParams {
  NeuronKind kind;
  bool decay_input;
  bool reset_is_zero;  // v_reset None or 0: SpikingJelly's shorter charge expressions
  bool hard_reset;     // v_reset not None
  bool detach_reset;
  bool strict;  // fire on h - v_threshold > 0 instead of >= 0
  T tau;                // LIF
  T k;                  // PLIF: sigmoid(w)
  T keep;               // the "(1 - 1/tau)" or "(1 - k)" factor of !decay_input with v_reset 0
  T v_threshold, v_reset;

  // d / tau (LIF) or d * k (PLIF)
  template <class V>
  C10_HOST_DEVICE V decay(V d) const {
    return kind == NeuronKind::LIF ? d / V(tau) : d * V(k);
  }
  template <class V>
  C10_HOST_DEVICE V charge(V v, V x) const {
    if (kind == NeuronKind::IF) return v + x;
    if (decay_input) return v + decay(x - (reset_is_zero ? v : v - V(v_reset)));
    if (reset_is_zero) return v * V(keep) + x;
    return v - decay(v - V(v_reset)) + x;
  }
  // dh/dx and dh/dv of charge()
  C10_HOST_DEVICE T dh_dx() const {
    if (kind == NeuronKind::IF || !decay_input) return T(1);
    return kind == NeuronKind::LIF ? T(1) / tau : k;
  }
  C10_HOST_DEVICE T dh_dv() const {
    if (kind == NeuronKind::IF) return T(1);
    if (!decay_input && reset_is_zero) return keep;
    return T(1) - (kind == NeuronKind::LIF ? T(1) / tau : k);
  }
  // dh/dk of the PLIF charge, from v[t-1] and x[t]
  template <class V>
  C10_HOST_DEVICE V dh_dk(V v_prev, V x) const {
    const V leak = reset_is_zero ? v_prev : v_prev - V(v_reset);
    return decay_input ? x - leak : -leak;
  }
  template <class V>
  C10_HOST_DEVICE V reset(V h, V s) const {
    if (hard_reset) return (V(1) - s) * h + s * V(v_reset);
    return h - s * V(v_threshold);
  }
};

// h[t] = charge(v[t-1], x[t]), rounded to the storage type: the forward computes it, and the
// backward recomputes it from the saved v_seq and x_seq (the same expression on the same values,
// so the same h bit for bit).
template <class scalar_t, class V, class T>
C10_HOST_DEVICE V charge_step(const NeuronParams<T>& p, V v_prev, V x) {
  return Lane<V>::template round<scalar_t>(p.charge(v_prev, x));
}

// One BPTT step: from h[t], the gradients reaching s[t] (grad_s) and v[t] (gv, carry included),
// gives dL/dh[t]. Then grad_x[t] = dh * dh_dx(), carry = dh * dh_dv().
template <class V, class S, class T>
C10_HOST_DEVICE V backward_step(const NeuronParams<T>& p, const S& surrogate, V h, V grad_s, V gv) {
  const V u = h - V(p.v_threshold);
  const V sg = surrogate.template grad<V>(u);
  V dh;
  if (p.hard_reset) {
    const V s = Heaviside<T>(p.strict).template primitive<V>(u);
    dh = grad_s * sg + gv * (V(1) - s);
    if (!p.detach_reset) dh = dh + gv * (V(p.v_reset) - h) * sg;
  } else {
    dh = grad_s * sg + gv;
    if (!p.detach_reset) dh = dh + gv * V(-p.v_threshold) * sg;
  }
  return dh;
}

// The tensors of one forward call: [T, N] contiguous, v_init and v (the last step's potential,
// a copy of v_seq[T-1] that the kernels store after the last step) [N].
template <class scalar_t, class T>
struct ForwardArgs {
  NeuronParams<T> p;
  int64_t steps, N;
  const scalar_t* x_seq;
  const scalar_t* v_init;
  scalar_t* spike_seq;
  scalar_t* v_seq;
  scalar_t* v;
};

// The tensors of one backward call: [T, N] contiguous, v_init, grad_v and grad_v_init [N].
// grad_v_seq is null when no gradient reaches v_seq, grad_v when none reaches the v output (a
// gradient of v enters the recurrence as the carry of the last step, so a caller that needs only
// the last state's gradient passes [N] values, not a [T, N] tensor of zeros with one row set);
// grad_k_partial ([N], opmath type: each
// neuron's sum of dh * dh/dk) is null when there is no k. dh_dx and dh_dv are p.dh_dx() and
// p.dh_dv(), evaluated once per call rather than in every step of every lane.
template <class scalar_t, class T>
struct BackwardArgs {
  NeuronParams<T> p;
  T dh_dx, dh_dv;
  int64_t steps, N;
  const scalar_t* grad_spike_seq;
  const scalar_t* grad_v_seq;
  const scalar_t* grad_v;
  const scalar_t* x_seq;
  const scalar_t* v_init;
  const scalar_t* v_seq;
  scalar_t* grad_x_seq;
  scalar_t* grad_v_init;
  T* grad_k_partial;
};

// Step t of the lane at neuron n (a scalar, or a SIMD vector of neurons n ...): v holds v[t-1]
// and becomes v[t]; s[t] and v[t] are stored. The kernels call it for t = 0 .. T-1, then store v
// as the v output.
template <class V, class scalar_t, class T>
C10_HOST_DEVICE void forward_cell(const ForwardArgs<scalar_t, T>& a, int64_t t, int64_t n, V& v) {
  using L = Lane<V>;
  const int64_t i = t * a.N + n;
  const V h = charge_step<scalar_t>(a.p, v, L::load(a.x_seq + i));
  const V s = Heaviside<T>(a.p.strict).template primitive<V>(h - V(a.p.v_threshold));
  v = L::template round<scalar_t>(a.p.reset(h, s));
  L::store(a.spike_seq + i, s);
  L::store(a.v_seq + i, v);
}

// The gradient reaching v[T-1] from the v output: the carry the backward starts from.
template <class V, class scalar_t, class T>
C10_HOST_DEVICE V initial_carry(const BackwardArgs<scalar_t, T>& a, int64_t n) {
  return a.grad_v != nullptr ? Lane<V>::load(a.grad_v + n) : V(0);
}

// BPTT step t of the lane at neuron n: carry holds the gradient reaching v[t] from step t + 1
// and becomes the one reaching v[t-1]; grad_k accumulates dh * dh/dk. grad_x[t] is stored. The
// kernels start from carry = initial_carry(), call it for t = T-1 .. 0, then store carry as
// grad_v_init and grad_k as its partial sum.
template <class V, class S, class scalar_t, class T>
C10_HOST_DEVICE void backward_cell(const BackwardArgs<scalar_t, T>& a, const S& surrogate,
                                   int64_t t, int64_t n, V& carry, V& grad_k) {
  using L = Lane<V>;
  const int64_t i = t * a.N + n;
  const V v_prev = t > 0 ? L::load(a.v_seq + i - a.N) : L::load(a.v_init + n);
  const V x = L::load(a.x_seq + i);
  const V h = charge_step<scalar_t>(a.p, v_prev, x);
  const V gv = a.grad_v_seq != nullptr ? carry + L::load(a.grad_v_seq + i) : carry;
  const V dh = backward_step(a.p, surrogate, h, L::load(a.grad_spike_seq + i), gv);
  L::store(a.grad_x_seq + i, dh * V(a.dh_dx));
  carry = dh * V(a.dh_dv);
  if (a.grad_k_partial != nullptr) grad_k = grad_k + dh * a.p.dh_dk(v_prev, x);
}

}  // namespace surrogate_ext
