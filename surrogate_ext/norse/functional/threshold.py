"""A drop-in for ``norse.torch.functional.threshold`` (Norse 1.1.0) on the native operators::

    from surrogate_ext.norse.functional import threshold   # instead of:
    # from norse.torch.functional import threshold
    z = threshold.threshold(v - v_th, "super", 100.0)

``threshold(x, method, alpha)``, ``sign``, ``heaviside`` and the functions ``super_fn`` (alias
``superspike_fn``), ``heavi_erfc_fn``, ``heavi_tanh_fn``, ``heavi_circ_fn``, ``triangle_fn``,
``logistic_fn`` and ``circ_dist_fn`` have Norse's names and signatures. Each function is generated
from :data:`FUNCTIONS` (one row each: our operator, the parameter map and the gradient's
multiplier) and TorchScript compiles it. The spike is Norse's x > 0 in x's dtype;
``logistic_fn`` and ``circ_dist_fn`` fire at random, Bernoulli(g(x)) drawn from torch's
generator, as Norse draws them. A parameter may be a real number or a one-element tensor
(Norse's ``LIFParameters.alpha`` is a 0-d tensor).

Norse's neurons take the method as a string (``LIFParameters(method="super")``) and call
``norse.torch.functional.threshold.threshold``: :func:`native_thresholds` routes them here.

Deliberate differences from Norse 1.1.0 (docs/norse.md lists them all); the main one:
``super_fn``'s gradient is 1/(alpha |x| + 1)^2, as the SuperSpike paper and Norse's docs give it;
Norse 1.1.0's code ignores alpha and computes 1/(|x| + 1)^2, which alpha = 1 reproduces
(``native_thresholds(norse_superspike=True)`` does so for a whole model).
"""
from __future__ import annotations

import contextlib
import sys
from typing import Dict, Tuple

import torch

from ...core import classes as _classes
from ...core import peers as _peers
from ...core.peers import REQUIRED, AtZero, PeerParam, PeerSurrogate

PEER = "Norse 1.1.0"

_K = (PeerParam("k", REQUIRED, positive=True),)

FUNCTIONS: Tuple[PeerSurrogate, ...] = (
    PeerSurrogate("super_fn", "soft_sign", (PeerParam("alpha", 100.0, positive=True),),
                  ("{alpha}",), grad_scale="2.0 / {alpha}", gradient="1 / (alpha |x| + 1)^2",
                  fix="Norse 1.1.0's backward ignores alpha and computes 1 / (|x| + 1)^2, the value "
                      "here at alpha = 1 (native_thresholds(norse_superspike=True) runs Norse's "
                      "neurons that way)",
                  at_zero=AtZero("alpha", "deterministic_pass")),
    PeerSurrogate("heavi_erfc_fn", "erf", _K, ("{k}",), grad_scale="2.0 / {k}",
                  gradient="2/sqrt(pi) exp(-(k x)^2)",
                  fix="in float64, Norse divides by a float32 sqrt(pi) (relative error 3.0e-8)"),
    PeerSurrogate("heavi_tanh_fn", "sigmoid", _K, ("2.0 * {k}",), grad_scale="2.0 / {k}",
                  gradient="1 - tanh(k x)^2",
                  fix="Norse's 1 - tanh(k x)^2 cancels where |k x| is large (in float32 1.6 % off "
                      "at k x = 7.2, and 0 beyond |k x| = 9.01); here 4 s (1 - s), "
                      "s = sigmoid(2 k x)"),
    PeerSurrogate("heavi_circ_fn", "heavi_circ", _K, ("{k}",), grad_scale="2.0 * {k}",
                  gradient="k^3 / (x^2 + k^2)^(3/2)",
                  fix="Norse's two-term expression cancels for |x| >> k (in float32 2e-4 off at "
                      "x = 60 k, and 0 at x = 2e4 k) and is NaN once x^2 overflows (|x| > 1.8e19 "
                      "in float32, 1.3e154 in float64) and at +-inf; here the one-term formula"),
    PeerSurrogate("triangle_fn", "piecewise_quadratic", (PeerParam("alpha", 0.3),), ("1.0",),
                  grad_scale="{alpha}", gradient="alpha relu(1 - |x|)"),
    PeerSurrogate("logistic_fn", "sigmoid", _K, ("2.0 * {k}",), grad_scale="2.0 / {k}",
                  strict=False, stochastic=True,
                  gradient="1 - tanh(k x)^2; the forward fires with probability "
                           "1/2 + tanh(k x)/2 = sigmoid(2 k x)",
                  fix="the gradient as heavi_tanh_fn's"),
    PeerSurrogate("circ_dist_fn", "heavi_circ", _K, ("{k}",), grad_scale="2.0 * {k}",
                  strict=False, stochastic=True,
                  gradient="k^3 / (x^2 + k^2)^(3/2); the forward fires with probability "
                           "1/2 + x / (2 sqrt(x^2 + k^2))",
                  fix="the gradient as heavi_circ_fn's; once x^2 overflows (|x| > 1.8e19 in "
                      "float32) Norse's probability is x / inf = 1/2 (and NaN at +-inf, which "
                      "torch.distributions rejects); here 1 for x > 0 and 0 for x < 0"),
)
"""The functions computed by a registry row, times ``grad_scale``."""

METHODS: Dict[str, str] = {
    "heaviside": "heaviside", "super": "super_fn", "triangle": "triangle_fn",
    "tanh": "heavi_tanh_fn", "circ": "heavi_circ_fn", "heavi_erfc": "heavi_erfc_fn",
}
"""threshold()'s methods, and the function each calls (with alpha; heaviside without)."""


def heaviside(data: torch.Tensor) -> torch.Tensor:
    """Norse's ``heaviside``: 1 where data > 0, else 0 (NaN gives 0), in data's dtype (integer and
    bool tensors too); not differentiable. ``torch.ops.surrogate_ext.heaviside(data, strict=True)``."""
    if not data.is_floating_point() and not data.is_complex():
        return (data > 0).to(data.dtype)
    return torch.ops.surrogate_ext.heaviside(data, strict=True)


def _doc(row: PeerSurrogate) -> str:
    forward = "fires at random (see below)" if row.stochastic else "spikes where x > 0 (in x's dtype)"
    text = (f"Norse's ``{row.name}(x, {row.signature()})``: {forward}; gradient {row.gradient}. "
            f"Computed by ``torch.ops.surrogate_ext.{row.op}``.")
    return text + (f"\n\nDifference from {PEER}: {row.fix}." if row.fix else "")


for _row in FUNCTIONS:
    globals()[_row.name] = _peers.function(_row, __name__, _doc(_row))
del _row
superspike_fn = super_fn  # noqa: F821  (generated above)

_UNKNOWN_METHOD = ("Attempted to apply threshold function {}, but no such function exist. We "
                   "currently support heaviside, super, tanh, triangle, circ, and heavi_erfc.")


def _threshold_source() -> str:
    lines = ["def threshold(x: torch.Tensor, method: str, alpha: float) -> torch.Tensor:\n"]
    for method, name in METHODS.items():
        args = "x" if name == "heaviside" else "x, alpha"
        lines.append(f"    if method == {method!r}:\n        return {name}({args})\n")
    head, tail = _UNKNOWN_METHOD.split("{}")
    lines.append(f"    raise ValueError({head!r} + method + {tail!r})\n")
    return "".join(lines)


threshold = _classes.compile_function(_threshold_source(), "threshold", dict(globals()))
threshold.__module__ = __name__
threshold.__doc__ = (
    "Norse's ``threshold(x, method, alpha)``: the spike x > 0 with the surrogate gradient of "
    "``method`` (heaviside, super, triangle, tanh, circ or heavi_erfc; see :data:`METHODS`). "
    "An unknown method raises Norse's ValueError.")


def sign(x: torch.Tensor, method: str, alpha: float) -> torch.Tensor:
    """Norse's ``sign``: 2 threshold(x, method, alpha) - 1."""
    return 2 * threshold(x, method, alpha) - 1


# --- Running Norse's neurons on these functions --------------------------------------------------

def _norse_super_fn(x: torch.Tensor, alpha: float = 100.0) -> torch.Tensor:
    """super_fn with Norse 1.1.0's gradient as coded: 1/(|x| + 1)^2 whatever alpha is."""
    return super_fn(x, 1.0)  # noqa: F821


def _norse_threshold(x: torch.Tensor, method: str, alpha: float) -> torch.Tensor:
    """threshold with Norse 1.1.0's super-spike gradient as coded (alpha ignored for 'super')."""
    return threshold(x, method, 1.0 if method == "super" else alpha)


def _norse_sign(x: torch.Tensor, method: str, alpha: float) -> torch.Tensor:
    return 2 * _norse_threshold(x, method, alpha) - 1


ROUTED = ("threshold", "sign", "super_fn", "superspike_fn", "heavi_erfc_fn", "heavi_tanh_fn",
          "heavi_circ_fn", "triangle_fn", "logistic_fn", "circ_dist_fn")
"""The names of Norse's functions that :func:`native_thresholds` replaces."""


def _routes(norse_superspike: bool) -> Dict[str, object]:
    routes = {name: globals()[name] for name in ROUTED}
    if norse_superspike:
        routes.update(threshold=_norse_threshold, sign=_norse_sign, super_fn=_norse_super_fn,
                      superspike_fn=_norse_super_fn)
    return routes


def _norse_functions() -> Dict[int, str]:
    """id -> name of Norse's own functions that :func:`native_thresholds` replaces."""
    try:
        from norse.torch.functional import superspike as norse_superspike
        from norse.torch.functional import threshold as norse_threshold
    except ImportError as e:
        raise ImportError(f"native_thresholds needs Norse ({PEER}): {e}") from e
    found = {id(getattr(norse_threshold, name)): name for name in ROUTED
             if hasattr(norse_threshold, name)}
    found[id(norse_superspike.super_fn)] = "super_fn"
    return found


_SUPERSPIKE = []  # norse_superspike of each native_thresholds block running, the innermost last


def norse_superspike_active() -> bool:
    """Whether the innermost running :func:`native_thresholds` block asked for Norse 1.1.0's
    super-spike gradient (``norse_superspike=True``): the fused neurons of
    :mod:`surrogate_ext.norse` follow it for ``method="super"``."""
    return bool(_SUPERSPIKE) and _SUPERSPIKE[-1]


@contextlib.contextmanager
def native_thresholds(norse_superspike: bool = False):
    """Within the block, Norse's threshold functions are these: every Norse module's
    ``threshold``, ``sign``, ``super_fn``/``superspike_fn`` and the other ``*_fn`` of
    :data:`ROUTED`, wherever Norse imported them by name (``from ... import threshold``), so that
    Norse's neurons (``LIFCell``, ``LIF``, ``lif_feed_forward_step``, ...) spike and differentiate
    on the native operators. On exit the originals are restored. ::

        with surrogate_ext.norse.native_thresholds():
            z, state = norse.torch.LIFCell()(x)

    ``norse_superspike=True``: method ``"super"`` and ``super_fn`` compute Norse 1.1.0's gradient
    as coded, 1/(|x| + 1)^2 whatever alpha is, so that a model tuned on Norse keeps its gradients;
    by default they compute 1/(alpha |x| + 1)^2.

    The fused neurons of :mod:`surrogate_ext.norse` (``LIF``, ``LIFCell``, ...) follow
    ``norse_superspike`` within the block (:func:`norse_superspike_active`).

    The replacement is process-wide while the block runs (not thread-local), and reaches calls
    made from Python: TorchScript code compiled before keeps what it compiled. Contexts nest.
    """
    originals = _norse_functions()
    ours = {id(f): name for name in ROUTED for f in (_routes(False)[name], _routes(True)[name])}
    routes = _routes(norse_superspike)
    saved = []
    for module_name, module in list(sys.modules.items()):
        if module is None or not (module_name == "norse" or module_name.startswith("norse.")):
            continue
        for attr, value in list(vars(module).items()):
            name = originals.get(id(value)) or ours.get(id(value))
            if name is not None and attr in ROUTED:
                saved.append((module, attr, value))
                setattr(module, attr, routes[name])
    _SUPERSPIKE.append(bool(norse_superspike))
    try:
        yield
    finally:
        _SUPERSPIKE.pop()
        for module, attr, value in reversed(saved):
            setattr(module, attr, value)


__all__ = ["threshold", "sign", "heaviside", "superspike_fn", "native_thresholds"] + [
    row.name for row in FUNCTIONS]
