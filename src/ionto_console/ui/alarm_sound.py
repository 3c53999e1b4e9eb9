"""Audible alarm signals: IEC 60601-1-8 burst patterns rendered as tones and played.

The patterns are data in ``core.alarms``; this module only turns a pattern
into PCM and hands it to a player. The player uses the station's command-line
audio tool (``aplay``, ``paplay`` or ``pw-play``) so no audio library is
linked into the console; where none exists the banner says "visual alarm
only" rather than pretending to sound. Tests use ``RecordingPlayer``.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path
from typing import Protocol

import numpy as np

from ..core.alarms import AudioPattern

SAMPLE_RATE = 22_050
#: Each pulse: fundamental plus harmonics (IEC asks for at least four harmonics for localisation).
HARMONICS = (1, 2, 3, 4, 5)
RAMP_S = 0.01  # rise/fall of each pulse: no clicks


def pattern_wav(pattern: AudioPattern, sample_rate: int = SAMPLE_RATE) -> bytes:
    """One burst of ``pattern`` as a mono 16-bit WAV."""
    length = int(round(pattern.burst_s * sample_rate)) + 1
    signal = np.zeros(length, dtype=np.float64)
    for pulse in pattern.pulses:
        start = int(pulse.start_s * sample_rate)
        n = int(pulse.duration_s * sample_rate)
        t = np.arange(n) / sample_rate
        tone = sum(np.sin(2 * np.pi * pattern.fundamental_hz * h * t) / h for h in HARMONICS)
        ramp = np.clip(np.minimum(t, pulse.duration_s - t) / RAMP_S, 0.0, 1.0)
        signal[start : start + n] += tone * ramp
    peak = np.max(np.abs(signal)) or 1.0
    pcm = (signal / peak * 0.6 * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


class Player(Protocol):
    available: bool

    def play(self, wav: bytes) -> None: ...


class CommandLinePlayer:
    """Plays WAV bytes with the first audio tool found; never blocks the GUI."""

    TOOLS = ("aplay", "paplay", "pw-play")

    def __init__(self) -> None:
        self._tool = next((path for tool in self.TOOLS if (path := shutil.which(tool))), None)
        self.available = self._tool is not None
        self._dir = Path(tempfile.mkdtemp(prefix="ionto-alarm-"))
        self._files: dict[bytes, Path] = {}

    def play(self, wav: bytes) -> None:
        if self._tool is None:
            return
        path = self._files.get(wav)
        if path is None:
            path = self._dir / f"burst-{len(self._files)}.wav"
            path.write_bytes(wav)
            self._files[wav] = path
        try:
            subprocess.Popen([self._tool, str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError:
            self.available = False


class RecordingPlayer:
    """Silent mode: remembers what would have played (tests, demo screenshots)."""

    available = True

    def __init__(self) -> None:
        self.played: list[bytes] = []

    def play(self, wav: bytes) -> None:
        self.played.append(wav)
