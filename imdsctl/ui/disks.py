"""The storage profile for people (``compute storage-profile`` on a
terminal): one row per disk, the OS disk first, with its name, LUN, size,
caching and type, and its managed disk id whole on the line below (wrapped
only after its own ``/``), as ``az vm show`` users read it. Every value is
still in -o json and in ``compute --all``."""

from __future__ import annotations

from typing import Any, Dict, List, NamedTuple

from imdsctl.ui.layout import wrap

#: The path whose answer is shown as a disks table (compute storage-profile, get compute/storageProfile).
PATH = "compute/storageProfile"
_COLUMNS = ("Disk", "LUN", "Size", "Caching", "Type")
_GAP = "  "
_INDENT = 2


class Disks(NamedTuple):
    """A storage profile, shown as a disks table (tables.table lays it out)."""

    profile: Dict[str, Any]


def _get(disk: Any, *keys: str) -> str:
    for key in keys:
        disk = disk.get(key) if isinstance(disk, dict) else None
    return "" if disk is None else str(disk)


def _rows(profile: Dict[str, Any]) -> List[List[str]]:
    """[name, lun, size, caching, type, id] for the OS disk, then each data disk."""
    disks: List[Any] = [dict(profile.get("osDisk") or {}, lun="os")]
    disks += [d for d in profile.get("dataDisks") or [] if isinstance(d, dict)]
    return [[_get(d, "name"), _get(d, "lun"), f"{_get(d, 'diskSizeGB')} GB" if _get(d, "diskSizeGB") else "",
             _get(d, "caching"), _get(d, "managedDisk", "storageAccountType"), _get(d, "managedDisk", "id")]
            for d in disks]


def disks(view: Disks, width: int) -> str:
    """The text of the disks table at ``width`` columns."""
    rows = _rows(view.profile)
    widths = [max([len(name)] + [len(row[i]) for row in rows]) for i, name in enumerate(_COLUMNS)]
    lines = [_GAP.join(name.ljust(w) for name, w in zip(_COLUMNS, widths)).rstrip()]
    for row in rows:
        lines.append(_GAP.join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if row[5]:
            lines.extend(" " * _INDENT + piece for piece in wrap(row[5], width - _INDENT))
    image = view.profile.get("imageReference") or {}
    if isinstance(image, dict) and (image.get("offer") or image.get("id")):
        said = ":".join(_get(image, k) for k in ("publisher", "offer", "sku", "version")) \
            if image.get("offer") else _get(image, "id")
        lines.extend(wrap(f"image {said}", width))
    lines.extend(wrap("every value: imdsctl compute storage-profile -o json", width))
    return "\n".join(lines) + "\n"
