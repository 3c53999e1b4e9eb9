"""The ramp limiter: the only way the commanded current may change.

WHY: a current step is felt as a jolt and can burn; every change, up or down,
must be a slew. The therapist raises the current in steps, each executed as a
slew no faster than the protocol's rate; lowering may be faster but is still
a slew. Pause ramps to zero and holds there; resume ramps back. After
``stop`` the limiter is locked at zero and refuses to rise again.

Time is always passed in (seconds, monotonic). The setpoint is a piecewise
linear function of time, so ``setpoint(t2) - setpoint(t1) <= up_rate*(t2-t1)``
holds exactly for any query times, which is the property the tests check.
"""

from __future__ import annotations


class RampLocked(RuntimeError):
    """Raised when something asks a stopped ramp to rise again."""


class RampLimiter:
    """Slew-limited setpoint in mA, clamped to ``0..max_ma``."""

    def __init__(self, *, max_ma: float, up_rate_ma_s: float, step_ma: float,
                 down_rate_ma_s: float | None = None, now: float = 0.0) -> None:
        if not (max_ma > 0 and up_rate_ma_s > 0 and step_ma > 0):
            raise ValueError("max_ma, up_rate_ma_s and step_ma must be positive")
        down = up_rate_ma_s if down_rate_ma_s is None else down_rate_ma_s
        if down < up_rate_ma_s:
            raise ValueError("the down-rate may be faster than the up-rate, never slower")
        self.max_ma = max_ma
        self.up_rate = up_rate_ma_s
        self.down_rate = down
        self.step_ma = step_ma
        self._level = 0.0
        self._t = now
        self._target = 0.0
        self._resume_target = 0.0
        self._paused = False
        self._locked = False

    # --- queries ------------------------------------------------------------

    def setpoint(self, now: float) -> float:
        """The commanded current at ``now`` (advances the slew; time never runs backwards)."""
        self._advance(now)
        return self._level

    @property
    def target(self) -> float:
        """Where the slew is heading (0 while paused or stopped)."""
        return self._target

    @property
    def resume_target(self) -> float:
        return self._resume_target if self._paused else self._target

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def locked(self) -> bool:
        return self._locked

    def settled(self, now: float) -> bool:
        """True once the setpoint has reached the target."""
        return self.setpoint(now) == self._target

    # --- intents --------------------------------------------------------------

    def request(self, level_ma: float, now: float) -> float:
        """Head for ``level_ma`` (clamped to 0..max). While paused it becomes the resume level.

        Returns the clamped level that was accepted.
        """
        self._advance(now)
        level = min(max(float(level_ma), 0.0), self.max_ma)
        if self._locked and level > 0.0:
            raise RampLocked("the treatment was stopped; the current cannot be raised again")
        if self._paused:
            self._resume_target = level
        else:
            self._target = level
        return level

    def step_up(self, now: float) -> float:
        """One therapist step up from where the ramp is heading."""
        return self.request(self.resume_target + self.step_ma, now)

    def step_down(self, now: float) -> float:
        return self.request(self.resume_target - self.step_ma, now)

    def pause(self, now: float) -> None:
        """Ramp to zero and hold; remember the level to come back to."""
        self._advance(now)
        if not self._paused:
            self._resume_target = self._target
            self._target = 0.0
            self._paused = True

    def resume(self, now: float) -> float:
        """Ramp back to the level held before the pause; returns that level."""
        self._advance(now)
        if self._locked:
            raise RampLocked("the treatment was stopped; it cannot be resumed")
        if self._paused:
            self._paused = False
            self._target = self._resume_target
        return self._target

    def stop(self, now: float) -> None:
        """Head for zero and lock: nothing may raise the setpoint again."""
        self._advance(now)
        self._target = 0.0
        self._resume_target = 0.0
        self._locked = True

    def output_cut(self, now: float) -> None:
        """The board's output went to zero by itself (OUTPUT 0, STOP, fault).

        The setpoint follows it to zero at once: lowering the *command* to
        where the current already is cannot hurt, and a later rise must start
        from zero, not from the stale level.
        """
        self._advance(now)
        self._level = 0.0

    # --- internals --------------------------------------------------------------

    def _advance(self, now: float) -> None:
        dt = now - self._t
        if dt <= 0.0:
            return
        self._t = now
        if self._target > self._level:
            self._level = min(self._target, self._level + self.up_rate * dt)
        elif self._target < self._level:
            self._level = max(self._target, self._level - self.down_rate * dt)
