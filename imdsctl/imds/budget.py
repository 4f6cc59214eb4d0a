"""The one time budget: a deadline that bounds a whole command, all its
attempts and retries, shared fairly when several calls draw on it.

The client keeps its budget on the socket too (imdsctl.imds.transport): each
socket operation waits at most for what is left (``bound``), and ``received``
counts the bytes of the current attempt, so that a silent server can be told
from an unfinished answer. doctor and collect share one among their checks
(``share``).
"""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # no typing import at run time: the fast path's modules load this one's neighbours
    from typing import Callable, Optional

class Budget:
    """``total`` seconds from now (by ``clock``); ``restart`` begins a new one."""

    def __init__(self, total: float, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self.total = float(total)
        self.deadline = clock() + self.total
        self.received = 0  #: bytes received in the current attempt

    def restart(self, total: Optional[float] = None) -> None:
        if total is not None:
            self.total = float(total)
        self.deadline = self._clock() + self.total

    def remaining(self) -> float:
        """Seconds left: negative once it is spent."""
        return self.deadline - self._clock()

    def left(self) -> float:
        """Seconds left, never below 0."""
        return max(0.0, self.remaining())

    def share(self, calls_left: int) -> float:
        """An equal share of what is left for each of ``calls_left`` calls: time a fast
        call does not use passes on to the next ones."""
        return self.left() / max(1, calls_left)

    def bound(self, timeout: Optional[float], timed_out: Callable[[str], Exception]) -> float:
        """``timeout`` for one socket operation, cut to what is left; ``timed_out`` once it is spent."""
        left = self.remaining()
        if left <= 0:  # settimeout(0) would make the socket non-blocking, not time out
            raise timed_out("the time budget ran out")
        return left if timeout is None else min(timeout, left)
