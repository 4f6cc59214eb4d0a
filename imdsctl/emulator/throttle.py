"""The request limits: IMDS allows 5 requests per second per VM
(https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service#rate-limiting),
and the managed identity category 20 requests per second and 5 concurrent requests
(https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token#error-handling).

A request is *in flight* from the moment it is admitted until its answer is
due: at once for an answer sent straight away, later for one a ``delay``
fault holds back (a slow token issuance, say). The transport only sends what
the Service returns, so the limit holds whatever the transport is.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from typing import Callable, Deque, Dict, Hashable, Optional, Tuple

DEFAULT_RATE = 5


class Throttle:
    """At most ``rate`` requests per client address in any sliding one-second
    window, and at most N in flight per bucket where a family sets N.
    Refused requests count against neither.

    A client's window expires one second after its last admitted request, so
    memory follows the sources of the last second, never every source ever
    seen; past ``MAX_SOURCES`` of those, the least recently seen is forgotten
    (it is admitted afresh, which only errs on the side of serving)."""

    MAX_SOURCES = 16384

    def __init__(self, rate: int = DEFAULT_RATE, clock: Callable[[], float] = time.monotonic):
        if rate < 1:
            raise ValueError("the throttle rate must be at least 1 request per second")
        self.rate = rate
        self._clock = clock
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, Deque[float]] = OrderedDict()  #: least recently seen first
        self._flying: Dict[Hashable, Tuple[str, float]] = {}  #: key -> (bucket, when its answer is due)

    def allow(self, client: str, rate: Optional[int] = None) -> bool:
        """Record a request from ``client``; False if it is over the limit
        (``rate`` requests per second, default the throttle's)."""
        return self.admit(client, rate)

    def admit(self, bucket: str, rate: Optional[int] = None, concurrent: Optional[int] = None,
              key: Hashable = None) -> bool:
        """Admit a request to ``bucket``: False if that makes more than ``rate``
        in the last second or, with ``concurrent``, more than that many in flight.
        An admitted request with a ``key`` (unique among the requests being
        answered, such as ``id(request)``) is in flight until ``land(key)``."""
        now = self._clock()
        with self._lock:
            self._expire(now)
            recent = self._recent.setdefault(bucket, deque())
            self._recent.move_to_end(bucket)
            while recent and now - recent[0] >= 1.0:
                recent.popleft()
            if len(recent) >= (rate or self.rate):
                return False
            if concurrent is not None:
                self._flying = {k: v for k, v in self._flying.items() if v[1] > now}
                if sum(1 for b, _ in self._flying.values() if b == bucket) >= concurrent:
                    return False
                if key is not None:
                    self._flying[key] = (bucket, math.inf)
            recent.append(now)
            return True

    def _expire(self, now: float) -> None:
        """Forget the windows with nothing in the last second (they sit in
        front: least recently seen first), then any beyond the cap."""
        while self._recent:
            bucket, recent = next(iter(self._recent.items()))
            if recent and now - recent[-1] < 1.0 and len(self._recent) < self.MAX_SOURCES:
                break
            del self._recent[bucket]

    def tracked(self) -> int:
        """How many client windows are held (what the memory follows)."""
        with self._lock:
            return len(self._recent)

    def land(self, key: Hashable, after: float = 0.0) -> None:
        """The answer to the request admitted with ``key`` is due in ``after``
        seconds: it stops being in flight then (an unknown key is ignored)."""
        with self._lock:
            flying = self._flying.pop(key, None)
            if flying is not None and after > 0:  # held under a key of its own: ids are reused
                self._flying[object()] = (flying[0], self._clock() + after)

    def reset(self) -> None:
        """Forget every recent request and every request in flight."""
        with self._lock:
            self._recent.clear()
            self._flying.clear()
