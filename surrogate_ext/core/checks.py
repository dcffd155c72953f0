"""The documented checkers: check_manual_grad and check_cuda_grad."""
from __future__ import annotations

import torch


def check_manual_grad(primitive_function, spiking_function, *args, **kwargs) -> float:
    """Compares the hand-written backward of ``spiking_function`` with autograd's gradient of
    ``primitive_function`` on ``torch.arange(-2, 2, 32 / 8192)``; prints both and the largest
    error, as SpikingJelly does, and returns that largest absolute error.

    Example::

        def s2nn_apply(x, alpha, beta):
            return surrogate.s2nn.apply(x, alpha, beta)

        surrogate.check_manual_grad(surrogate.S2NN.primitive_function, s2nn_apply, alpha=4., beta=1.)
    """
    x = torch.arange(-2, 2, 32 / 8192)
    x.requires_grad_(True)
    primitive_function(x, *args, **kwargs).sum().backward()
    x_grad_auto = x.grad.clone()
    x.grad.zero_()
    spiking_function(x, *args, **kwargs).sum().backward()
    x_grad_manual = x.grad.clone()
    print('auto   grad', x_grad_auto)
    print('manual grad', x_grad_manual)
    abs_error = (x_grad_manual - x_grad_auto).abs()
    idx = abs_error.argmax()
    print('max error', abs_error[idx], 'occurs at')
    print(f'x[{idx}] = {x[idx]}')
    print('auto   grad', x_grad_auto[idx])
    print('manual grad', x_grad_manual[idx])
    return abs_error[idx].item()


def _other_backend(net) -> str:
    supported = getattr(net, "supported_backends", None) or ("torch", "native")
    others = [b for b in supported if b != "torch"]
    if not others:
        raise ValueError(f"check_cuda_grad: {type(net).__name__} has no backend besides 'torch' "
                         f"(supported_backends={tuple(supported)})")
    return others[0]


def check_cuda_grad(neu, surrogate_function, device, *args, **kwargs) -> dict:
    """Compares the input gradient of a multi-step neuron's ``'torch'`` backend with its other
    backend (the first of ``neu.supported_backends`` that is not 'torch', else ``'native'``),
    for float32 and float16, printing the largest error as SpikingJelly does.

    ``neu`` is any neuron class that takes ``surrogate_function=``, has a ``backend`` attribute and
    has ``reset()``; ``surrogate_function(*args, **kwargs)`` builds the surrogate.
    Returns ``{torch.float32: max_abs_error, torch.float16: max_abs_error}``.

    Example: ``check_cuda_grad(neuron.MultiStepIFNode, surrogate.S2NN, 'cuda:0', alpha=4., beta=1.)``.
    """
    errors = {}
    for dtype in (torch.float, torch.half):
        print(dtype)
        net = neu(surrogate_function=surrogate_function(*args, **kwargs))
        net.to(device)
        other = _other_backend(net)
        x = torch.arange(-2, 2, 32 / 8192, device=device, dtype=dtype).unsqueeze(-1)
        x.requires_grad_(True)
        net.backend = 'torch'
        net(x).sum().backward()
        x_grad_torch = x.grad.clone()
        x.grad.zero_()
        net.reset()
        net.backend = other
        net(x).sum().backward()
        x_grad_other = x.grad.clone()
        net.reset()
        abs_error = (x_grad_other.float() - x_grad_torch.float()).abs()
        idx = abs_error.argmax()
        print('max error', abs_error[idx], 'occurs at')
        print(f'x[{idx}] = {x[idx]}')
        print('torch  grad', x_grad_torch[idx])
        print(f'{other:6s} grad', x_grad_other[idx])
        errors[dtype] = abs_error[idx].item()
    return errors
