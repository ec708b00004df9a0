"""Memory budget of a view: refuse, in one line, what would not fit in the machine's free memory."""

from __future__ import annotations

import os

from ..errors import DecisionError
from ..matching.index import available_bytes as meminfo_available

SHARE = 0.6  # of the memory available now that one view may take


def available_bytes() -> int | None:
    """MemAvailable (Linux), or ``$SHOPEE_MEMORY_BUDGET_MB`` when set; None when unknown."""
    env = os.environ.get("SHOPEE_MEMORY_BUDGET_MB", "").strip()
    if env:
        try:
            return int(float(env) * 2**20)
        except ValueError:
            pass
    return meminfo_available()


def require(need: int, what: str) -> None:
    """A one-line DecisionError when ``need`` bytes exceed the share of free memory a view may use."""
    free = available_bytes()
    if free is not None and need > SHARE * free:
        raise DecisionError(f"{what} needs about {need / 2**30:.1f} GB and this machine has {free / 2**30:.1f} GB "
                            "free: choose a smaller pool (or fewer models)")
