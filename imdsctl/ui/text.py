"""Text for people: durations as they read them, and lines cut to a length."""

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


#: The longest line imdsctl writes to stderr (characters): data quoted in a note is cut to fit.
LINE_LIMIT = 2000


def cut(text: str, limit: int = LINE_LIMIT) -> str:
    """``text`` if it has at most ``limit`` characters; else its start, an
    ellipsis and its length (``abc… (30055 characters)``), ``limit`` in all."""
    if len(text) <= limit:
        return text
    tail = f"… ({len(text)} characters)"
    return text[:max(0, limit - len(tail))] + tail
