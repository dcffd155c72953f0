"""The Python table of surrogates: one row per surrogate.

Each row names the native operators (``torch.ops.surrogate_ext.<op>``, ``<op>_primitive``,
``<op>_backward``, ``<op>_primitive_backward``), the module class, the parameters with their
defaults and constraints, and the pure-PyTorch reference functions in :mod:`surrogate_ext.reference`.

The C++ table is ``SURROGATE_EXT_FOR_EACH_SURROGATE`` in
``csrc/include/surrogate_ext/surrogates.h``; ``tests/core/test_registry.py`` proves the two agree
(names, schemas, defaults and the messages of the parameter checks).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable, Optional, Tuple


def format_value(value) -> str:
    """Formats a parameter value the way the C++ checks do (``%g`` for floats)."""
    if isinstance(value, float):
        return format(value, "g")
    return str(value)


def _finite(v) -> bool:
    return math.isfinite(v)


# A constraint is (predicate, description). The description reads "<name> must be <it>". NaN fails
# every one of them. The C++ checks (csrc/include/surrogate_ext/checks.h) raise the same text.
FINITE = (_finite, "finite")
POSITIVE = (lambda v: v > 0 and _finite(v), "finite and > 0")
GREATER_THAN_ONE = (lambda v: v > 1 and _finite(v), "finite and > 1")
INTEGER_AT_LEAST_ONE = (
    lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1,
    "an integer >= 1",
)

REQUIRED = object()
"""The default of a parameter that has none (it must be given)."""


@dataclass(frozen=True)
class Param:
    name: str
    type: type  # float or int: the schema's "float" or "int"
    default: object = REQUIRED
    constraint: Optional[Tuple[Callable, str]] = FINITE

    def check(self, op: str, value) -> None:
        """Raises ValueError, with the same message as the operator's own check."""
        if self.type is float and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
            raise TypeError(f"{op}: {self.name} must be a real number, got {value!r}")
        if self.type is int and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
            raise TypeError(f"{op}: {self.name} must be an integer, got {value!r}")
        if self.constraint is None:
            return
        ok, text = self.constraint
        if not ok(value):
            raise ValueError(f"{op}: {self.name} must be {text}, got {format_value(value)}")

    def convert(self, value):
        return self.type(value)


def _window(op: str, max_spike_count, grad_min, grad_max) -> None:
    if not grad_min <= grad_max:
        raise ValueError(f"{op}: grad_min must be <= grad_max, got {format_value(float(grad_min))} "
                         f"and {format_value(float(grad_max))}")


@dataclass(frozen=True)
class Surrogate:
    op: str  # operator base name, e.g. "atan"
    cls: str  # module class name, e.g. "ATan"
    params: Tuple[Param, ...]
    origin: str  # where the formula comes from: the library (and version) it mirrors
    threshold: bool = True  # the spiking forward is heaviside; False: reference.<op>_spike
    check_params: Optional[Callable] = None  # a check across parameters, check_params(op, *values)
    example: Optional[Tuple] = None  # valid parameter values, where some have no default

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
    def primitive_grad(self) -> Callable:
        """The exact derivative of the primitive, where it differs from the surrogate gradient
        (``reference.<op>_primitive_grad``), else the surrogate gradient."""
        from . import reference
        return getattr(reference, self.op + "_primitive_grad", None) or self.grad

    @property
    def param_names(self) -> Tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def defaults(self) -> Tuple:
        """The schema defaults (``REQUIRED`` where there is none)."""
        return tuple(p.default for p in self.params)

    @property
    def example_params(self) -> Tuple:
        """Valid parameter values: the defaults, or ``example`` where some are required."""
        return self.example if self.example is not None else self.defaults

    def check(self, *values) -> Tuple:
        """Validates parameter values (trailing ones may be left to their defaults); returns all
        of them, converted to the schema types."""
        values = values + self.defaults[len(values):]
        if len(values) != len(self.params) or any(v is REQUIRED for v in values):
            raise TypeError(f"{self.op}: takes parameters {self.param_names}, got {values!r}")
        for p, v in zip(self.params, values):
            p.check(self.op, v)
        if self.check_params is not None:
            self.check_params(self.op, *values)
        return tuple(p.convert(v) for p, v in zip(self.params, values))


def _alpha(default, constraint=POSITIVE):
    return (Param("alpha", float, default, constraint),)


SJ14, SJ2, SNNTORCH, NORSE = ("SpikingJelly 0.0.0.0.14", "SpikingJelly 2.0", "snnTorch 1.0",
                              "Norse 1.1")

# The rows, in the order of the C++ table (SURROGATE_EXT_FOR_EACH_SURROGATE).
SURROGATES: Tuple[Surrogate, ...] = (
    Surrogate("piecewise_quadratic", "PiecewiseQuadratic", _alpha(1.0), SJ14),
    Surrogate("piecewise_exp", "PiecewiseExp", _alpha(1.0), SJ14),
    Surrogate("sigmoid", "Sigmoid", _alpha(4.0), SJ14),
    Surrogate("soft_sign", "SoftSign", _alpha(2.0), SJ14),
    Surrogate("atan", "ATan", _alpha(2.0), SJ14),
    Surrogate("nonzero_sign_log_abs", "NonzeroSignLogAbs", _alpha(1.0), SJ14),
    Surrogate("erf", "Erf", _alpha(2.0), SJ14),
    Surrogate("piecewise_leaky_relu", "PiecewiseLeakyReLU",
              (Param("w", float, 1.0, POSITIVE), Param("c", float, 0.01)), SJ14),
    Surrogate("squarewave_fourier_series", "SquarewaveFourierSeries",
              (Param("n", int, 2, INTEGER_AT_LEAST_ONE), Param("T_period", float, 8.0, POSITIVE)),
              SJ14),
    Surrogate("s2nn", "S2NN", (Param("alpha", float, 4.0, POSITIVE), Param("beta", float, 1.0)),
              SJ14),
    Surrogate("q_pseudo_spike", "QPseudoSpike", _alpha(2.0, GREATER_THAN_ONE), SJ14),
    Surrogate("super_spike", "SuperSpike", _alpha(1.0), SJ2),
    Surrogate("leaky_k_relu", "LeakyKReLU", (Param("leak", float, 0.0), Param("k", float, 1.0)),
              SJ2),
    Surrogate("fake_numerical_gradient", "FakeNumericalGradient", _alpha(0.3), SJ2),
    Surrogate("log_tailed_relu", "LogTailedReLU", _alpha(0.0, FINITE), SJ2),
    Surrogate("deterministic_pass", "DeterministicPass", (), SJ2),
    Surrogate("rect", "Rect", _alpha(1.0), SJ2),
    Surrogate("triangular", "Triangular", (Param("threshold", float, 1.0),), SNNTORCH),
    Surrogate("spike_rate_escape", "SpikeRateEscape",
              (Param("beta", float, 1.0, POSITIVE), Param("slope", float, 25.0, POSITIVE)), SNNTORCH),
    Surrogate("sparse_fast_sigmoid", "SparseFastSigmoid",
              (Param("slope", float, 25.0, POSITIVE), Param("B", float, 1.0)), SNNTORCH),
    Surrogate("leaky_spike_operator", "LeakySpikeOperator", (Param("slope", float, 0.1),),
              SNNTORCH),
    Surrogate("heavi_circ", "HeaviCirc", _alpha(1.0), NORSE),
    Surrogate("multi_level_spike_count", "MultiLevelSpikeCount",
              (Param("max_spike_count", int, constraint=INTEGER_AT_LEAST_ONE),
               Param("grad_min", float, constraint=None), Param("grad_max", float, constraint=None)),
              SJ2, threshold=False, check_params=_window, example=(4, 0.0, 4.0)),
)

THRESHOLD_SURROGATES: Tuple[Surrogate, ...] = tuple(s for s in SURROGATES if s.threshold)
"""The rows whose spiking forward is heaviside: these have the fused multi-step neuron operators."""

BY_OP = {s.op: s for s in SURROGATES}
BY_CLASS = {s.cls: s for s in SURROGATES}
