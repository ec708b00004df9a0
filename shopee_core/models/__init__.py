"""Model recipes (registry), encoders and baselines."""

from .registry import ModelSpec, get, list_models, register

__all__ = ["ModelSpec", "get", "list_models", "register"]
