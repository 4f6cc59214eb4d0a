"""The request rate limit: IMDS allows 5 requests per second per VM
(https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service#rate-limiting)."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable, Deque, Dict, Optional

DEFAULT_RATE = 5


class Throttle:
    """At most ``rate`` requests per client address in any sliding one-second
    window.  Refused requests do not count against the window."""

    def __init__(self, rate: int = DEFAULT_RATE, clock: Callable[[], float] = time.monotonic):
        if rate < 1:
            raise ValueError("the throttle rate must be at least 1 request per second")
        self.rate = rate
        self._clock = clock
        self._lock = threading.Lock()
        self._recent: Dict[str, Deque[float]] = {}

    def allow(self, client: str, rate: Optional[int] = None) -> bool:
        """Record a request from ``client``; False if it is over the limit
        (``rate`` requests per second, default the throttle's)."""
        now = self._clock()
        with self._lock:
            recent = self._recent.setdefault(client, deque())
            while recent and now - recent[0] >= 1.0:
                recent.popleft()
            if len(recent) >= (rate or self.rate):
                return False
            recent.append(now)
            return True

    def reset(self) -> None:
        """Forget every recent request."""
        with self._lock:
            self._recent.clear()
