"""Model recipes (registry), encoders, heads and baselines."""

from .registry import PROFILES, ModelEntry, get, leaves, list_models, members, register

__all__ = ["PROFILES", "ModelEntry", "get", "leaves", "list_models", "members", "register"]
