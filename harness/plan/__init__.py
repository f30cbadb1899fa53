"""Test plans: a matrix of targets, driver builds, expected conventions and scenario
selections, expanded into cells (docs/nightly.md)."""

from harness.plan.load import LoadedPlan, load_plan, parse_plan
from harness.plan.model import Build, Cell, Matrix, Plan
from harness.plan.resolve import expand

__all__ = ["Build", "Cell", "LoadedPlan", "Matrix", "Plan", "expand", "load_plan", "parse_plan"]
