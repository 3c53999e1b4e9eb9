"""When an unattended station locks: after the clinic's idle time, never while output is on.

Qt-free, time as an argument (the window passes its clock), so the rule is
tested on a made-up clock. WHY output counts as activity: a treatment with
current flowing is being attended by definition (the therapist must be able
to act at once); the idle time starts again when the output goes off, so a
station never locks the moment a long treatment ends.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class IdleLock:
    """Tracks the last activity; ``due`` says when the station should lock."""

    idle_s: float
    last_activity: float = 0.0
    locked: bool = False

    def touch(self, now: float) -> None:
        """A person used the station (a key, a click)."""
        self.last_activity = max(self.last_activity, now)

    def due(self, now: float, output_on: bool) -> bool:
        """True when the station should lock now (and is not locked yet)."""
        if output_on:
            self.touch(now)
            return False
        return not self.locked and now - self.last_activity >= self.idle_s
