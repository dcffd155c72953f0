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
//   reset   hard: v[t] = (1 - s) h + s v_reset;  soft (v_reset None): v[t] = h - s v_threshold
// Each expression is evaluated in the same order as SpikingJelly's, so that in float32 and float64
// the spikes and potentials equal the step-by-step 'torch' backend's bit for bit. h and v are
// rounded to the storage type after each step (a no-op for float32/64), as a step-by-step
// computation in that type would round them; the backward recomputes s from the saved h.
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

// One forward step: from v[t-1] (updated to v[t]) and x[t], gives h[t] and s[t].
template <class scalar_t, class V, class T>
C10_HOST_DEVICE void forward_step(const NeuronParams<T>& p, V& v, V x, V& h, V& s) {
  using L = Lane<V>;
  h = L::template round<scalar_t>(p.charge(v, x));
  s = Heaviside<T>{}.template primitive<V>(h - V(p.v_threshold));
  v = L::template round<scalar_t>(p.reset(h, s));
}

// One BPTT step: from h[t], the gradients reaching s[t] (grad_s) and v[t] (gv, carry included),
// gives dL/dh[t]. Then grad_x[t] = dh * dh_dx(), carry = dh * dh_dv().
template <class V, class S, class T>
C10_HOST_DEVICE V backward_step(const NeuronParams<T>& p, const S& surrogate, V h, V grad_s, V gv) {
  const V u = h - V(p.v_threshold);
  const V sg = surrogate.template grad<V>(u);
  V dh;
  if (p.hard_reset) {
    const V s = Heaviside<T>{}.template primitive<V>(u);
    dh = grad_s * sg + gv * (V(1) - s);
    if (!p.detach_reset) dh = dh + gv * (V(p.v_reset) - h) * sg;
  } else {
    dh = grad_s * sg + gv;
    if (!p.detach_reset) dh = dh + gv * V(-p.v_threshold) * sg;
  }
  return dh;
}

// Forward of lane n (neurons n .. n + lanes) over T steps. Tensors are contiguous [T, N] (v_init:
// [N]); spike_seq, v_seq, h_seq are written.
template <class V, class scalar_t, class T>
C10_HOST_DEVICE void multistep_forward_lane(const NeuronParams<T>& p, int64_t steps, int64_t N,
                                            int64_t n, const scalar_t* x_seq,
                                            const scalar_t* v_init, scalar_t* spike_seq,
                                            scalar_t* v_seq, scalar_t* h_seq) {
  using L = Lane<V>;
  V v = L::load(v_init + n);
  for (int64_t t = 0; t < steps; ++t) {
    const int64_t i = t * N + n;
    V h, s;
    forward_step<scalar_t>(p, v, L::load(x_seq + i), h, s);
    L::store(h_seq + i, h);
    L::store(spike_seq + i, s);
    L::store(v_seq + i, v);
  }
}

// BPTT of lane n. grad_v_seq may be null (no gradient reaches v_seq); x_seq, v_seq and
// grad_k_partial are used only for PLIF (grad_k_partial: [N], opmath type, the per-neuron sum
// of dh * dh/dk; null when there is no k).
template <class V, class S, class scalar_t, class T>
C10_HOST_DEVICE void multistep_backward_lane(const NeuronParams<T>& p, const S& surrogate,
                                             int64_t steps, int64_t N, int64_t n,
                                             const scalar_t* grad_spike_seq,
                                             const scalar_t* grad_v_seq, const scalar_t* h_seq,
                                             const scalar_t* v_init, const scalar_t* v_seq,
                                             const scalar_t* x_seq, scalar_t* grad_x_seq,
                                             scalar_t* grad_v_init, T* grad_k_partial) {
  using L = Lane<V>;
  const V dh_dx(p.dh_dx()), dh_dv(p.dh_dv());
  V carry(0);  // the gradient reaching v[t] from step t + 1
  V grad_k(0);
  for (int64_t t = steps - 1; t >= 0; --t) {
    const int64_t i = t * N + n;
    const V gv = grad_v_seq != nullptr ? carry + L::load(grad_v_seq + i) : carry;
    const V dh = backward_step(p, surrogate, L::load(h_seq + i), L::load(grad_spike_seq + i), gv);
    L::store(grad_x_seq + i, dh * dh_dx);
    carry = dh * dh_dv;
    if (grad_k_partial != nullptr) {
      const V v_prev = t > 0 ? L::load(v_seq + i - N) : L::load(v_init + n);
      grad_k = grad_k + dh * p.dh_dk(v_prev, x_seq != nullptr ? L::load(x_seq + i) : V(0));
    }
  }
  L::store(grad_v_init + n, carry);
  if (grad_k_partial != nullptr) L::store(grad_k_partial + n, grad_k);
}

}  // namespace surrogate_ext
