"""Optimisation problems whose evaluation is a forecast on common random numbers."""

from .base import Constraint, Evaluated, ForecastProblem, Objective

__all__ = ["Constraint", "Evaluated", "ForecastProblem", "Objective"]
