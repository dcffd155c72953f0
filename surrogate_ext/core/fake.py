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

    if entry.threshold:
        _register_multistep(entry)


_NEURONS = ("if", "lif", "plif")


def _check_neuron(op: str, neuron: str, tau: float, k) -> None:
    if neuron not in _NEURONS:
        raise ValueError(f"{op}: neuron must be 'if', 'lif' or 'plif', got '{neuron}'")
    if neuron == "lif" and not tau > 0:
        raise ValueError(f"{op}: tau must be > 0, got {tau:g}")
    if neuron == "plif":
        if k is None or k.numel() != 1:
            raise ValueError(f"{op}: plif_k must be a one-element tensor for neuron 'plif'")
        _check_input(op, "plif_k", k)


def _check_threshold_and_reset(op: str, v_threshold, v_reset) -> None:
    if not math.isfinite(v_threshold):
        raise ValueError(f"{op}: v_threshold must be finite, got {registry.format_value(v_threshold)}")
    if v_reset is not None and not math.isfinite(v_reset):
        raise ValueError(f"{op}: v_reset must be finite or None, got {registry.format_value(v_reset)}")


def _check_sequence(op: str, x_seq, v_init) -> None:
    _check_input(op, "x_seq", x_seq)
    if x_seq.dim() < 1:
        raise ValueError(f"{op}: x_seq must have shape [T, ...], got a 0-d tensor")
    _check_input(op, "v_init", v_init)
    if v_init.shape != x_seq.shape[1:]:
        raise ValueError(f"{op}: v_init must have the shape of one step of x_seq, "
                         f"{list(x_seq.shape[1:])}, got {list(v_init.shape)}")
    if v_init.dtype != x_seq.dtype:
        raise TypeError(f"{op}: v_init must have the dtype of x_seq, {x_seq.dtype}, got {v_init.dtype}")


def _register_multistep(entry: registry.Surrogate) -> None:
    forward = f"surrogate_ext::{entry.op}_multistep_node"
    backward = forward + "_backward"

    def forward_fake(x_seq, v_init, neuron, tau, k, decay_input, v_threshold, v_reset,
                     detach_reset, *params, strict=False, grad_scale=1.0):
        entry.check(*params)
        _check_grad_scale(entry.op, grad_scale)
        _check_sequence(forward, x_seq, v_init)
        _check_neuron(forward, neuron, tau, k)
        _check_threshold_and_reset(forward, v_threshold, v_reset)
        spike_seq, v_seq, v = (t.new_empty(t.shape) for t in (x_seq, x_seq, v_init))
        return spike_seq, v_seq, v

    def backward_fake(grad_spike_seq, grad_v_seq, grad_v, x_seq, v_init, v_seq, neuron, tau, k,
                      decay_input, v_threshold, v_reset, detach_reset, *params, strict=False,
                      grad_scale=1.0):
        entry.check(*params)
        _check_grad_scale(entry.op, grad_scale)
        _check_sequence(backward, x_seq, v_init)
        _check_neuron(backward, neuron, tau, k)
        _check_threshold_and_reset(backward, v_threshold, v_reset)
        grad_k = k.new_empty(k.shape) if neuron == "plif" else x_seq.new_empty(())
        return x_seq.new_empty(x_seq.shape), v_init.new_empty(v_init.shape), grad_k

    torch.library.register_fake(forward)(forward_fake)
    torch.library.register_fake(backward)(backward_fake)


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
