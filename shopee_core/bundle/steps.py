"""Where a build's time goes: seconds per kind of step, summed over models, printed at the end."""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager

log = logging.getLogger(__name__)


class StepTimes:
    """Seconds spent per kind of build step, summed over models (``with STEPS("name"): ...``), so a
    build says where its time went; nested steps are counted in each."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def reset(self) -> None:
        self.seconds.clear()

    @contextmanager
    def __call__(self, name: str):
        t = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t

    def report(self, total: float) -> None:
        log.info(f"[time] where the build's {total:.0f} s went (per kind of step, summed over models):")
        for name, secs in sorted(self.seconds.items(), key=lambda kv: -kv[1]):
            log.info(f"[time]   {secs:8.1f} s  {100 * secs / max(total, 1e-9):5.1f} %  {name}")


STEPS = StepTimes()
