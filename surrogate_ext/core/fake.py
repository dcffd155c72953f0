"""Fake (meta) kernels for every operator, generated from the registry, so that
torch.compile(fullgraph=True) and torch.export trace the operators. They check their inputs as
the real kernels do and return a new contiguous tensor shaped like x, as the real kernels do."""
from __future__ import annotations

import math

import torch

from . import registry

_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def _check_input(op: str, name: str, x: torch.Tensor) -> None:
    if x.dtype not in _DTYPES:
        raise TypeError(f"{op}: {name} must be a float32, float64, float16 or bfloat16 tensor, got {x.dtype}")


def _check_grad_output(op: str, grad_output: torch.Tensor, x: torch.Tensor) -> None:
    _check_input(op, "x", x)
    if grad_output.shape != x.shape:
        raise ValueError(f"{op}: grad_output must have the same shape as x, got "
                         f"{list(grad_output.shape)} and {list(x.shape)}")
    if grad_output.dtype != x.dtype:
        raise TypeError(f"{op}: grad_output must have the same dtype as x, got {grad_output.dtype} and {x.dtype}")
    if grad_output.device != x.device:
        raise RuntimeError(f"{op}: grad_output must be on the same device as x, got "
                           f"{grad_output.device} and {x.device}")


def _check_grad_scale(op: str, grad_scale) -> None:
    registry.Param("grad_scale", float).check(op, grad_scale)


def _register(entry: registry.Surrogate) -> None:
    spike = f"surrogate_ext::{entry.op}"

    @torch.library.register_fake(spike)
    def spike_fake(x, *params, strict=False, stochastic=False, grad_scale=1.0):
        entry.check(*params)
        _check_grad_scale(entry.op, grad_scale)
        _check_input(spike, "x", x)
        if not entry.threshold and (strict or stochastic):
            raise ValueError(f"{spike}: strict and stochastic apply to threshold forwards only; "
                             f"{entry.op} has a forward of its own")
        if strict and stochastic:
            raise ValueError(f"{spike}: strict and stochastic exclude each other")
        return x.new_empty(x.shape)

    @torch.library.register_fake(spike + "_primitive")
    def primitive_fake(x, *params):
        entry.check(*params)
        _check_input(spike + "_primitive", "x", x)
        return x.new_empty(x.shape)

    @torch.library.register_fake(spike + "_backward")
    def backward_fake(grad_output, x, *params, grad_scale=1.0):
        entry.check(*params)
        _check_grad_scale(entry.op, grad_scale)
        _check_grad_output(spike + "_backward", grad_output, x)
        return x.new_empty(x.shape)

    @torch.library.register_fake(spike + "_primitive_backward")
    def primitive_backward_fake(grad_output, x, *params):
        entry.check(*params)
        _check_grad_output(spike + "_primitive_backward", grad_output, x)
        return x.new_empty(x.shape)



# --- The neuron engine's operators (core/neurons.py) --------------------------------------------

def check_surrogate(op: str, surrogate: str, params, strict: bool, grad_scale) -> None:
    """The checks of the neuron operators' chosen surrogate (surrogate_choice.h), same messages."""
    entry = registry.BY_OP.get(surrogate)
    if entry is None:
        raise ValueError(f"{op}: surrogate must be one of {', '.join(registry.BY_OP)}; got '{surrogate}'")
    registry.Param("grad_scale", float).check(op, grad_scale)
    if len(params) != len(entry.params):
        raise ValueError(f"{op}: surrogate {surrogate} takes {len(entry.params)} parameter(s) in "
                         f"surrogate_params, got {len(params)}")
    values = []
    for i, (p, v) in enumerate(zip(entry.params, params)):
        if p.type is int:
            if not (math.isfinite(v) and v == math.floor(v)):
                raise ValueError(f"{op}: surrogate_params[{i}] of {surrogate} must be an integer, got "
                                 f"{registry.format_value(float(v))}")
            v = int(v)
        values.append(v)
    entry.check(*values)
    if strict and not entry.threshold:
        raise ValueError(f"{op}: strict applies to threshold forwards only; {surrogate} has a "
                         f"forward of its own")


def _check_like(op: str, name: str, t, shape, like) -> None:
    _check_input(op, name, t)
    if list(t.shape) != list(shape):
        raise ValueError(f"{op}: {name} must have shape {list(shape)}, got {list(t.shape)}")
    if t.dtype != like.dtype:
        raise TypeError(f"{op}: {name} must have dtype {like.dtype}, got {t.dtype}")


def _check_lane(op: str, name: str, t, neurons) -> None:
    """A tensor argument: one value, or broadcastable to the neurons' shape (neuron_ops.h)."""
    if t.numel() == 1 and t.dim() <= len(neurons):
        return
    ok = t.dim() <= len(neurons) and all(t.shape[-d] in (1, neurons[-d]) for d in range(1, t.dim() + 1))
    if not ok:
        raise ValueError(f"{op}: {name} must hold one value or be broadcastable to the neurons' shape "
                         f"{list(neurons)}, got shape {list(t.shape)}")


def _register_neuron(neuron) -> None:
    from .neurons import neuron_argument_split
    states = neuron.states
    name = f"surrogate_ext::{neuron.name}"

    def check(op, multistep, x, init, args, surrogate, params, strict, grad_scale):
        neuron.check(*args)
        for a, v in zip(neuron.args, args):
            if a.type == "Tensor":
                _check_input(op, a.name, v)
        check_surrogate(op, surrogate, params, strict, grad_scale)
        _check_input(op, "x_seq" if multistep else "x", x)
        if multistep and x.dim() < 1:
            raise ValueError(f"{op}: x_seq must have shape [T, ...], got a 0-d tensor")
        shape = x.shape[1:] if multistep else x.shape
        for s, t in zip(states, init):
            _check_like(op, s + ("_init" if multistep else ""), t, shape, x)
        return shape

    def check_lanes(op, args, neurons):
        for a, v in zip(neuron.args, args):
            if a.type == "Tensor":
                _check_lane(op, a.name, v, neurons)

    def check_grads(op, multistep, x, neurons, grad_spike, grad_seqs, grad_lasts, seqs):
        _check_like(op, "grad_spike_seq" if multistep else "grad_spike", grad_spike, x.shape, x)
        for k, s in enumerate(states):
            if multistep:
                _check_like(op, s + "_seq", seqs[k], x.shape, x)
            if grad_seqs[k] is not None:
                _check_like(op, f"grad_{s}_seq", grad_seqs[k], x.shape, x)
            if grad_lasts[k] is not None:
                _check_like(op, f"grad_{s}" + ("" if multistep else "_next"), grad_lasts[k], neurons, x)

    def multistep(x_seq, *rest, strict=False, grad_scale=1.0):
        op = name + "_multistep"
        init, args, surrogate, params = neuron_argument_split(neuron, rest)
        neurons = check(op, True, x_seq, init, args, surrogate, params, strict, grad_scale)
        check_lanes(op, args, neurons)
        out = [x_seq.new_empty(x_seq.shape)]
        for t in init:
            out += [x_seq.new_empty(x_seq.shape), t.new_empty(t.shape)]
        return tuple(out)

    def grads(x, init, args):
        out = [x.new_empty(x.shape)] + [t.new_empty(t.shape) for t in init]
        out += [a.new_empty(a.shape) for a, spec in zip(args, neuron.args) if spec.type == "Tensor"]
        return tuple(out)

    def multistep_backward(grad_spike_seq, *rest, strict=False, grad_scale=1.0, output_mask=None):
        op, k = name + "_multistep_backward", len(states)
        grad_seqs, grad_lasts = rest[0:2 * k:2], rest[1:2 * k:2]
        x_seq = rest[2 * k]
        init, args, surrogate, params = neuron_argument_split(neuron, rest[2 * k + 1:], sequences=True)
        seqs = rest[2 * k + 1 + k:2 * k + 1 + 2 * k]
        neurons = check(op, True, x_seq, init, args, surrogate, params, strict, grad_scale)
        check_grads(op, True, x_seq, neurons, grad_spike_seq, grad_seqs, grad_lasts, seqs)
        check_lanes(op, args, neurons)
        return grads(x_seq, init, args)

    def step(x, *rest, strict=False, grad_scale=1.0):
        op = name + "_step"
        init, args, surrogate, params = neuron_argument_split(neuron, rest)
        neurons = check(op, False, x, init, args, surrogate, params, strict, grad_scale)
        check_lanes(op, args, neurons)
        return tuple([x.new_empty(x.shape)] + [t.new_empty(t.shape) for t in init])

    def step_backward(grad_spike, *rest, strict=False, grad_scale=1.0, output_mask=None):
        op, k = name + "_step_backward", len(states)
        grad_nexts, x = rest[:k], rest[k]
        init, args, surrogate, params = neuron_argument_split(neuron, rest[k + 1:])
        neurons = check(op, False, x, init, args, surrogate, params, strict, grad_scale)
        check_grads(op, False, x, neurons, grad_spike, [None] * k, grad_nexts, None)
        check_lanes(op, args, neurons)
        return grads(x, init, args)

    for kind, fake in (("multistep", multistep), ("multistep_backward", multistep_backward),
                       ("step", step), ("step_backward", step_backward)):
        torch.library.register_fake(f"{name}_{kind}")(fake)


@torch.library.register_fake("surrogate_ext::heaviside")
def _heaviside_fake(x, strict=False):
    _check_input("surrogate_ext::heaviside", "x", x)
    return x.new_empty(x.shape)


_SSO = "surrogate_ext::stochastic_spike_operator"


def _check_sso(op, mean, variance):
    registry.Param("mean", float).check(op, mean)
    registry.Param("variance", float).check(op, variance)


@torch.library.register_fake(_SSO)
def _sso_fake(x, mean=0.0, variance=0.2):
    _check_sso(_SSO, mean, variance)
    _check_input(_SSO, "x", x)
    return x.new_empty(x.shape)


@torch.library.register_fake(_SSO + "_backward")
def _sso_backward_fake(grad_output, x, mean=0.0, variance=0.2):
    _check_sso(_SSO + "_backward", mean, variance)
    _check_grad_output(_SSO + "_backward", grad_output, x)
    return x.new_empty(x.shape)


for _entry in registry.SURROGATES:
    _register(_entry)
del _entry


def _register_neurons() -> None:
    from .neurons import NEURONS
    for neuron in NEURONS:
        _register_neuron(neuron)


_register_neurons()
