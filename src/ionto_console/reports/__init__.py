"""Printable documents: calibration certificates (PDF drawn with Qt's QPdfWriter, no extra dependency)."""
