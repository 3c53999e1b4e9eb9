"""Ionto Console: desktop software for an iontophoresis treatment station."""

__version__ = "0.1.0"
