"""Registry of export formats; every module in this package that registers an ``Exporter`` is offered.

WHY discovery by module (``pkgutil``): adding a format is one new file here,
no list to edit. ``register`` may also be called from elsewhere (a clinic's
plug-in, a test's fake format) before the Records tab is built.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading

from .base import Exporter, ExportResult, ExportTarget, Scope

__all__ = ["Exporter", "ExportResult", "ExportTarget", "Scope", "exporter", "exporters", "register", "unregister"]

_registry: dict[str, Exporter] = {}
_lock = threading.Lock()
_discovered = False


def register(item: Exporter) -> Exporter:
    """Offer ``item`` in the Records tab (replaces an exporter with the same key); returns it."""
    with _lock:
        _registry[item.key] = item
    return item


def unregister(key: str) -> None:
    with _lock:
        _registry.pop(key, None)


def _discover() -> None:
    """Import each format module of this package once (each registers itself on import)."""
    global _discovered
    if _discovered:
        return
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base":
            importlib.import_module(f"{__name__}.{info.name}")
    _discovered = True


def exporters() -> list[Exporter]:
    """Every registered format, in display order."""
    _discover()
    with _lock:
        return sorted(_registry.values(), key=lambda e: (e.order, e.key))


def exporter(key: str) -> Exporter:
    """The format registered under ``key`` (KeyError if none)."""
    _discover()
    with _lock:
        return _registry[key]
