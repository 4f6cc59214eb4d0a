"""Text for people: durations as they read them."""

from __future__ import annotations


def span(seconds: float) -> str:
    """``45s``, ``14m 32s``, ``2h 05m``, ``3d 04h``."""
    seconds = int(round(abs(seconds)))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"
