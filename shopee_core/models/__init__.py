"""Model recipes (registry), encoders, heads and baselines."""

from . import recipes  # noqa: F401  (fills the registry)
from .registry import (
    PROFILES,
    ModelEntry,
    get,
    leaves,
    list_models,
    members,
    parse_overrides,
    register,
    spec_changes,
    with_overrides,
)

__all__ = ["PROFILES", "ModelEntry", "get", "leaves", "list_models", "members", "parse_overrides", "register",
           "spec_changes", "with_overrides"]
