"""Synthesis stage: deficit-class plans, rendering plans with a generator or classic
augmentation, training manifests per scenario, class counts and synthetic-video quality."""

from .manifest import MANIFEST_COLUMNS, build_manifest, class_counts
from .plan import PLAN_COLUMNS, LeakageError, check_plan, class_targets, make_plan

__all__ = ["MANIFEST_COLUMNS", "PLAN_COLUMNS", "LeakageError", "build_manifest",
           "check_plan", "class_counts", "class_targets", "make_plan"]
