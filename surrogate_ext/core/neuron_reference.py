"""Pure-PyTorch reference of every neuron family: the path for surrogates that are not native
(a user's own function or module), and the tests' float64 oracle.

For every family ``<name>`` of :mod:`surrogate_ext.core.neurons` this module defines
``<name>_step(x, states, *args, fire)``: one step from the states before it (a tuple: ``(v,)`` or
``(v, w)``) and the input, with the family's arguments in the operators' schema order, returning
``(spike, next_states)``. ``fire(u)`` is the spike function: a surrogate module or function, whose
own backward gives the surrogate gradient. Each expression is evaluated in the order of the
C++ functor in csrc/include/surrogate_ext/neurons.h (itself the peer's order), so that in float32
and float64 the native kernels and this reference give the same spikes and states bit for bit;
autograd differentiates it, and the tests compare the kernels' gradients with it in float64.
"""
from __future__ import annotations

import math
from typing import Callable, Optional, Tuple

import torch
from torch import Tensor

States = Tuple[Tensor, ...]


def reset(h: Tensor, z: Tensor, v_threshold: float, v_reset: Optional[float],
          detach_reset: bool) -> Tensor:
    """SpikingJelly's reset: hard (v_reset given) (1 - z) h + z v_reset, soft h - z v_threshold;
    with detach_reset the reset does not differentiate through z."""
    if detach_reset:
        z = z.detach()
    if v_reset is None:
        return h - z * v_threshold
    return (1. - z) * h + z * v_reset


def leak(v: Tensor, x: Tensor, k, keep, decay_input: bool, factored: bool, leak_reset: float,
         divide_by: Optional[float] = None) -> Tensor:
    """SpikingJelly's LIF charge with k = 1/tau (``divide_by=tau``: divides by tau) or k a tensor
    (PLIF's sigmoid(w)); ``factored`` (only with v_reset 0): v (1 - k) + x, keep = 1 - k."""
    if decay_input:
        d = x - (v - leak_reset)
        return v + (d / divide_by if divide_by is not None else d * k)
    if factored:
        return v * keep + x
    d = v - leak_reset
    return v - (d / divide_by if divide_by is not None else d * k) + x


def _leak_reset(v_reset: Optional[float]) -> float:
    return 0. if v_reset is None else v_reset


def if_step(x, states, v_threshold, v_reset, detach_reset, *, fire):
    (v,) = states
    h = v + x
    z = fire(h - v_threshold)
    return z, (reset(h, z, v_threshold, v_reset, detach_reset),)


def lif_step(x, states, tau, decay_input, factored_leak, v_threshold, v_reset, detach_reset, *,
             fire):
    (v,) = states
    vr = _leak_reset(v_reset)
    h = leak(v, x, None, 1. - 1. / tau, decay_input, factored_leak and vr == 0, vr, divide_by=tau)
    z = fire(h - v_threshold)
    return z, (reset(h, z, v_threshold, v_reset, detach_reset),)


def plif_step(x, states, w, decay_input, factored_leak, v_threshold, v_reset, detach_reset, *,
              fire):
    (v,) = states
    vr = _leak_reset(v_reset)
    k = w.sigmoid()
    h = leak(v, x, k, 1. - k, decay_input, factored_leak and vr == 0, vr)
    z = fire(h - v_threshold)
    return z, (reset(h, z, v_threshold, v_reset, detach_reset),)


def qif_step(x, states, tau, v_c, a0, v_rest, v_threshold, v_reset, detach_reset, *, fire):
    (v,) = states
    h = v + (x + a0 * (v - v_rest) * (v - v_c)) / tau
    z = fire(h - v_threshold)
    return z, (reset(h, z, v_threshold, v_reset, detach_reset),)


def eif_step(x, states, tau, delta_T, theta_rh, v_rest, v_threshold, v_reset, detach_reset, *,
             fire):
    (v,) = states
    h = v + (x + v_rest - v + delta_T * torch.exp((v - theta_rh) / delta_T)) / tau
    z = fire(h - v_threshold)
    return z, (reset(h, z, v_threshold, v_reset, detach_reset),)


def izhikevich_step(x, states, tau, v_c, a0, v_rest, tau_w, a, b, v_threshold, v_reset,
                    detach_reset, *, fire):
    v, w = states
    h = v + (x + a0 * (v - v_rest) * (v - v_c) - w) / tau
    z = fire(h - v_threshold)
    w_next = w + (a * (h - v_rest) - w) / tau_w + b * z
    return z, (reset(h, z, v_threshold, v_reset, detach_reset), w_next)


def cuba_lif_step(x, states, c_decay, v_decay, v_threshold, v_reset, detach_reset, *, fire):
    v, c = states
    c_next = c * c_decay + x
    h = v * v_decay + c_next
    z = fire(h - v_threshold)
    return z, (reset(h, z, v_threshold, v_reset, detach_reset), c_next)


def klif_step(x, states, k, tau, decay_input, scale_reset, v_threshold, v_reset, detach_reset, *,
              fire):
    (v,) = states
    h0 = leak(v, x, None, None, decay_input, False, _leak_reset(v_reset), divide_by=tau)
    h = torch.relu(k * h0)
    z = fire(h - v_threshold)
    if scale_reset:
        return z, (reset(h / k, z, v_threshold / k, v_reset, detach_reset),)
    return z, (reset(h, z, v_threshold, v_reset, detach_reset),)


def ilif_step(x, states, tau, factored_leak, v_threshold, detach_reset, *, fire):
    (v,) = states
    h = leak(v, x, None, 1. - 1. / tau, False, factored_leak, 0., divide_by=tau)
    z = fire(h / v_threshold)
    return z, (reset(h, z, v_threshold, None, detach_reset),)


def raf_step(x, states, b, omega, dt, v_threshold, v_reset, detach_reset, *, fire):
    v, u = states
    alpha, cos_theta, sin_theta = math.exp(b * dt), math.cos(omega * dt), math.sin(omega * dt)
    h = alpha * (u * sin_theta + v * cos_theta)
    z = fire(h - v_threshold)
    u_next = alpha * (u * cos_theta - v * sin_theta) + x
    return z, (reset(h, z, v_threshold, v_reset, detach_reset), u_next)


# --- snnTorch 1.0.0: its expressions, in its order (snntorch/_neurons/*.py) ------------------------

def snntorch_reset(mem: Tensor, threshold, fire) -> Tensor:
    """The reset a step applies, decided by the membrane before it: snnTorch's mem_reset, the spike
    function's forward on mem - threshold, detached."""
    return fire(mem - threshold).detach()


def snntorch_in_charge(b0: Tensor, r: Tensor, threshold, reset_mechanism: int) -> Tensor:
    """The reset in the charge of Synaptic, RLeaky, RSynaptic and Lapicque: subtract
    b0 - r threshold, zero b0 - b0 r (snnTorch's b0 - reset * b0 written in place), none b0."""
    if reset_mechanism == 0:
        return b0 - r * threshold
    if reset_mechanism == 1:
        return b0 - b0 * r
    return b0


def snntorch_after_fire(h: Tensor, z: Tensor, r: Tensor, threshold, reset_mechanism: int,
                        reset_delay: bool) -> Tensor:
    """The state after the fire: h, or without reset_delay snnTorch's immediate reset by
    do_reset = spk / graded_spikes_factor - reset = z - r (z not detached)."""
    if reset_delay or reset_mechanism == 2:
        return h
    if reset_mechanism == 0:
        return h - (z - r) * threshold
    return h - (z - r) * h


def leaky_step(x, states, beta, threshold, reset_mechanism, reset_delay, *, fire):
    (mem,) = states
    r = snntorch_reset(mem, threshold, fire)
    if reset_mechanism == 1:  # Leaky's zero: (1 - reset) mem before the leak
        h = beta.clamp(0, 1) * ((1 - r) * mem) + x
    else:
        h = snntorch_in_charge(beta.clamp(0, 1) * mem + x, r, threshold, reset_mechanism)
    z = fire(h - threshold)
    return z, (snntorch_after_fire(h, z, r, threshold, reset_mechanism, reset_delay),)


def rleaky_step(x, states, recurrent_input, beta, threshold, reset_mechanism, reset_delay, *, fire):
    (mem,) = states
    r = snntorch_reset(mem, threshold, fire)
    h = snntorch_in_charge(beta.clamp(0, 1) * mem + x + recurrent_input, r, threshold, reset_mechanism)
    z = fire(h - threshold)
    return z, (snntorch_after_fire(h, z, r, threshold, reset_mechanism, reset_delay),)


def _synaptic(x, states, rec, alpha, beta, threshold, reset_mechanism, reset_delay, fire):
    mem, syn = states
    r = snntorch_reset(mem, threshold, fire)
    syn = alpha.clamp(0, 1) * syn + x
    if rec is not None:
        syn = syn + rec
    h = snntorch_in_charge(beta.clamp(0, 1) * mem + syn, r, threshold, reset_mechanism)
    z = fire(h - threshold)
    return z, (snntorch_after_fire(h, z, r, threshold, reset_mechanism, reset_delay), syn)


def synaptic_step(x, states, alpha, beta, threshold, reset_mechanism, reset_delay, *, fire):
    return _synaptic(x, states, None, alpha, beta, threshold, reset_mechanism, reset_delay, fire)


def rsynaptic_step(x, states, recurrent_input, alpha, beta, threshold, reset_mechanism, reset_delay,
                   *, fire):
    return _synaptic(x, states, recurrent_input, alpha, beta, threshold, reset_mechanism, reset_delay,
                     fire)


def alpha_step(x, states, alpha, beta, threshold, reset_mechanism, *, fire):
    mem, syn_exc, syn_inh = states
    r = snntorch_reset(mem, threshold, fire)
    a, b = alpha.clamp(0, 1), beta.clamp(0, 1)
    tau_alpha = torch.log(a) / (torch.log(b) - torch.log(a)) + 1
    exc = a * syn_exc + x
    inh = b * syn_inh - x
    h = tau_alpha * (exc + inh)
    if reset_mechanism == 0:  # snnTorch's _base_sub, as coded
        exc, inh, h = exc - threshold * r, inh - inh * r, h - (-syn_inh) * r
    elif reset_mechanism == 1:
        exc, inh, h = exc - exc * r, inh - inh * r, h - h * r
    z = fire(h - threshold)
    return z, (h, exc, inh)


def lapicque_step(x, states, R, C, time_step, threshold, reset_mechanism, *, fire):
    (mem,) = states
    r = snntorch_reset(mem, threshold, fire)
    b0 = x * R * (1 / (R * C)) * time_step + (1 - (time_step / (R * C))) * mem
    h = snntorch_in_charge(b0, r, threshold, reset_mechanism)
    return fire(h - threshold), (h,)


def norse_current(x, v, i, tau_syn_inv, tau_mem_inv, v_leak, dt):
    """Norse's charge with a synaptic current (lif_feed_forward_step, li_feed_forward_step):
    (h, the current after the step), in Norse's order of evaluation."""
    i_jump = i + x
    h = v + dt * tau_mem_inv * ((v_leak - v) + i_jump)
    return h, i_jump + -dt * tau_syn_inv * i_jump


def norse_lif_step(x, states, tau_syn_inv, tau_mem_inv, v_leak, v_th, v_reset, dt, *, fire):
    v, i = states
    h, i = norse_current(x, v, i, tau_syn_inv, tau_mem_inv, v_leak, dt)
    z = fire(h - v_th)
    return z, ((1 - z) * h + z * v_reset, i)


def norse_lif_box_step(x, states, tau_mem_inv, v_leak, v_th, v_reset, subtract_reset, dt, *, fire):
    (v,) = states
    h = v + dt * tau_mem_inv * (x + v_leak - v)
    z = fire(h - v_th)
    return z, ((1 - z) * h + z * ((h - v_th) if subtract_reset else v_reset),)


def norse_li_step(x, states, tau_syn_inv, tau_mem_inv, v_leak, dt, *, fire):
    """The leaky integrator never fires: its spike is 0 and ``fire`` is not called."""
    v, i = states
    h, i = norse_current(x, v, i, tau_syn_inv, tau_mem_inv, v_leak, dt)
    return torch.zeros_like(h), (h, i)


def multistep(step: Callable, x_seq: Tensor, states: States, args: tuple, fire: Callable,
              keep_sequences: bool = True):
    """Runs ``step`` over the T steps of ``x_seq``: ``(spike_seq, state_seqs, last_states)``, the
    sequences stacked along a new first dimension (None without ``keep_sequences``)."""
    spikes, seqs = [], [[] for _ in states]
    for x in x_seq:
        z, states = step(x, states, *args, fire=fire)
        spikes.append(z)
        if keep_sequences:
            for seq, s in zip(seqs, states):
                seq.append(s)
    spike_seq = torch.stack(spikes) if spikes else x_seq.new_empty(x_seq.shape)
    if not keep_sequences:
        return spike_seq, None, states
    state_seqs = tuple(torch.stack(seq) if seq else x_seq.new_empty(x_seq.shape) for seq in seqs)
    return spike_seq, state_seqs, states


__all__ = [name for name in list(globals()) if name.endswith("_step")] + [
    "multistep", "reset", "leak", "snntorch_reset", "snntorch_in_charge", "snntorch_after_fire", "norse_current"]
