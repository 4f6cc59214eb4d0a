"""One fake clock for every test: time moves only when the code under test sleeps."""

from __future__ import annotations

import time


class FakeTime:
    """A monotonic clock (``clock``) and a wall clock (``wall``, started at the
    real time) moved only by ``sleep``, which records what it was asked."""

    def __init__(self):
        self.now, self.sleeps = 0.0, []
        self.wall0 = time.time()

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.wall0 + self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
