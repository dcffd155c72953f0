"""The Python table of surrogates: one row per surrogate.

Each row names the native operators (``torch.ops.surrogate_ext.<op>``, ``<op>_primitive``,
``<op>_backward``, ``<op>_primitive_backward``), the module class, the parameters with their
defaults and constraints, and the pure-PyTorch reference functions in :mod:`surrogate_ext.reference`.

The C++ table is ``SURROGATE_EXT_FOR_EACH_SURROGATE`` in
``csrc/include/surrogate_ext/surrogates.h``; ``tests/test_registry.py`` proves the two agree
(names, schemas, defaults and the messages of the parameter checks).
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Callable, Optional, Tuple



def format_value(value) -> str:
    """Formats a parameter value the way the C++ checks do (``%g`` for floats)."""
    if isinstance(value, float):
        return format(value, "g")
    return str(value)


# A constraint is (predicate, description). The description reads "<name> must be <it>".
POSITIVE = (lambda v: v > 0, "> 0")
GREATER_THAN_ONE = (lambda v: v > 1, "> 1")
INTEGER_AT_LEAST_ONE = (
    lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1,
    "an integer >= 1",
)


@dataclass(frozen=True)
class Param:
    name: str
    type: type  # float or int: the schema's "float" or "int"
    default: float | int
    constraint: Optional[Tuple[Callable, str]] = None

    def check(self, op: str, value) -> None:
        """Raises ValueError, with the same message as the operator's own check."""
        if self.type is float and not isinstance(value, numbers.Real):
            raise TypeError(f"{op}: {self.name} must be a real number, got {value!r}")
        if self.constraint is None:
            return
        ok, text = self.constraint
        if not ok(value):  # NaN fails every comparison, so it is rejected too
            raise ValueError(f"{op}: {self.name} must be {text}, got {format_value(value)}")

    def convert(self, value):
        return self.type(value)


@dataclass(frozen=True)
class Surrogate:
    op: str  # operator base name, e.g. "atan"
    cls: str  # module class name, e.g. "ATan"
    params: Tuple[Param, ...]

    @property
    def primitive(self) -> Callable:
        """The reference primitive g(x, *params): ``reference.<op>_primitive``."""
        from . import reference
        return getattr(reference, self.op + "_primitive")

    @property
    def spike(self) -> Callable:
        """The reference spiking forward s(x, *params, strict=False): ``reference.<op>_spike`` for
        a surrogate whose forward is not a threshold, else the heaviside step."""
        from . import reference
        formula = getattr(reference, self.op + "_spike", None)
        if formula is not None:
            return formula
        return lambda x, *params, strict=False: reference.heaviside(x, strict)

    @property
    def grad(self) -> Callable:
        """The reference surrogate gradient g'(x, *params): ``reference.<op>_grad``."""
        from . import reference
        return getattr(reference, self.op + "_grad")

    @property
    def param_names(self) -> Tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def defaults(self) -> Tuple:
        return tuple(p.default for p in self.params)

    def check(self, *values) -> Tuple:
        """Validates parameter values; returns them converted to the schema types."""
        for p, v in zip(self.params, values):
            p.check(self.op, v)
        return tuple(p.convert(v) for p, v in zip(self.params, values))


def _alpha(default, constraint=POSITIVE):
    return (Param("alpha", float, default, constraint),)


SURROGATES: Tuple[Surrogate, ...] = (
    Surrogate("piecewise_quadratic", "PiecewiseQuadratic", _alpha(1.0)),
    Surrogate("piecewise_exp", "PiecewiseExp", _alpha(1.0)),
    Surrogate("sigmoid", "Sigmoid", _alpha(4.0)),
    Surrogate("soft_sign", "SoftSign", _alpha(2.0)),
    Surrogate("atan", "ATan", _alpha(2.0)),
    Surrogate("nonzero_sign_log_abs", "NonzeroSignLogAbs", _alpha(1.0)),
    Surrogate("erf", "Erf", _alpha(2.0)),
    Surrogate("piecewise_leaky_relu", "PiecewiseLeakyReLU",
              (Param("w", float, 1.0, POSITIVE), Param("c", float, 0.01))),
    Surrogate("squarewave_fourier_series", "SquarewaveFourierSeries",
              (Param("n", int, 2, INTEGER_AT_LEAST_ONE), Param("T_period", float, 8.0, POSITIVE))),
    Surrogate("s2nn", "S2NN", (Param("alpha", float, 4.0, POSITIVE), Param("beta", float, 1.0))),
    Surrogate("q_pseudo_spike", "QPseudoSpike", _alpha(2.0, GREATER_THAN_ONE)),
)

BY_OP = {s.op: s for s in SURROGATES}
BY_CLASS = {s.cls: s for s in SURROGATES}
