"""Treatment protocols: validated, with every rejection naming its field.

A protocol is what the therapist picks ("Dexamethasone 4 mg/mL, 40 mA·min").
It fixes everything the engine may do: polarity, dose, current ceiling, ramp,
waveform. WHY pydantic: a malformed or unsafe protocol must be refused before
a session starts, with the exact field and a reason a person can act on, and
every cross-field rule here (start <= max, dose <= electrode rating, density,
polarity of a known drug) is written once as a field validator so the error
lands on the field that breaks it.

Fields are flat where a rule spans them, and declared in dependency order:
a field validator sees only the fields declared before it (``info.data``).
Fields with a default that a rule must still check use ``validate_default``.
"""

from __future__ import annotations

import enum
import math
import os
import stat
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .corticosteroids import corticosteroid_named
from .dose import waveform_duty

#: Board hardware range (ICD section 4). Kept here because core/ may not import drivers.
HW_MAX_CURRENT_MA = 25.0
#: Board slew range 10..5000 µA/s (ICD SET_LIMITS), in mA/s.
SLEW_RANGE_MA_S = (0.010, 5.0)
#: ICD STOP accepts a ramp-down of at most 5000 ms.
MAX_RAMP_DOWN_S = 5.0
#: Default current density limit for drug electrodes (mA/cm²).
DEFAULT_DENSITY_LIMIT_MA_CM2 = 0.5
#: Above this density the console always warns, whatever the protocol says (mA/cm²).
DENSITY_WARN_MA_CM2 = 2.0
ELECTRODE_RATINGS_MA_MIN = (40, 80, 160)
#: Physical bounds of a protocol's numbers (a typo or a hostile file is refused, not treated):
#: the largest dose is the hardware maximum for an hour; a program step lasts at most two hours.
MAX_DOSE_MA_MIN = HW_MAX_CURRENT_MA * 60.0
MAX_STEP_DURATION_S = 7200.0
MAX_CONCENTRATION = 1000.0
#: Free text kept short: a protocol's notes are copied into every session record that uses it.
MAX_NOTES_CHARS = 4000
MAX_NAME_CHARS = 200
#: A clinic protocol file larger than this is refused unread (a protocol is ~1 kB).
MAX_PROTOCOL_FILE_BYTES = 1_000_000

# Agents whose polarity is fixed by their charge: the active electrode must
# carry the same sign as the ion, or the drug is not driven into the skin.
KNOWN_DRUG_POLARITY: dict[str, "Polarity"] = {}


class AgentKind(str, enum.Enum):
    DRUG = "drug"
    TAP_WATER = "tap_water"


class Polarity(str, enum.Enum):
    """Sign of the ACTIVE electrode (the one carrying the drug)."""

    CATHODE = "cathode"  # active electrode negative
    ANODE = "anode"  # active electrode positive

    @property
    def anode(self) -> bool:
        return self is Polarity.ANODE

    def reversed(self) -> "Polarity":
        return Polarity.CATHODE if self is Polarity.ANODE else Polarity.ANODE


KNOWN_DRUG_POLARITY.update(
    {"dexamethasone": Polarity.CATHODE, "acetic acid": Polarity.CATHODE, "lidocaine": Polarity.ANODE}
)

#: Unknown fields refused; NaN and infinities refused in every float (``Infinity``/``1e400`` in JSON).
#: Numbers and booleans use the Strict types: ``true`` is not a current and ``1`` is not a yes.
_STRICT = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Agent(BaseModel):
    """What is in the active electrode: a drug solution, or plain tap water in trays."""

    model_config = _STRICT

    kind: AgentKind
    solution: str = Field(min_length=1, max_length=MAX_NAME_CHARS, description="e.g. 'dexamethasone sodium phosphate'")
    concentration: StrictFloat | None = Field(default=None, gt=0, le=MAX_CONCENTRATION, validate_default=True)
    concentration_unit: Literal["mg/mL", "%"] | None = Field(default=None, validate_default=True)

    @field_validator("concentration")
    @classmethod
    def _concentration_matches_kind(cls, value: float | None, info: ValidationInfo) -> float | None:
        kind = info.data.get("kind")
        if kind is AgentKind.DRUG and value is None:
            raise ValueError("a drug needs its concentration")
        if kind is AgentKind.TAP_WATER and value is not None:
            raise ValueError("tap water has no drug concentration")
        return value

    @field_validator("concentration_unit")
    @classmethod
    def _unit_with_concentration(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("concentration") is not None and value is None:
            raise ValueError("give the unit of the concentration ('mg/mL' or '%')")
        if "concentration" in info.data and info.data["concentration"] is None and value is not None:
            raise ValueError("a unit without a concentration")
        return value

    def known_name(self, table: dict[str, Any] | tuple[str, ...]) -> str | None:
        """The key of ``table`` the solution name mentions, if any (case-insensitive)."""
        text = self.solution.lower()
        return next((key for key in table if key in text), None)

    @property
    def label(self) -> str:
        if self.concentration is None:
            return self.solution
        return f"{self.solution} {self.concentration:g} {self.concentration_unit}"


class DCWaveform(BaseModel):
    model_config = _STRICT
    mode: Literal["dc"] = "dc"

    @property
    def duty(self) -> float:
        return waveform_duty(self.model_dump())


class PulsedWaveform(BaseModel):
    """Pulsed DC: the board's target and measured current are the PULSE AMPLITUDE."""

    model_config = _STRICT
    mode: Literal["pulsed_dc"] = "pulsed_dc"
    frequency_hz: StrictInt = Field(ge=1, le=20_000)
    duty_pct: StrictInt = Field(ge=10, le=90)

    @property
    def duty(self) -> float:
        return waveform_duty(self.model_dump())


Waveform = Annotated[DCWaveform | PulsedWaveform, Field(discriminator="mode")]


class ProgramStep(BaseModel):
    """One step of a multi-step program: a current held for a time or for a share of the dose."""

    model_config = _STRICT
    current_ma: StrictFloat = Field(gt=0, le=HW_MAX_CURRENT_MA)
    duration_s: StrictFloat | None = Field(default=None, gt=0, le=MAX_STEP_DURATION_S)
    dose_share: StrictFloat | None = Field(default=None, gt=0, le=1)

    @model_validator(mode="after")
    def _one_length(self) -> "ProgramStep":
        if (self.duration_s is None) == (self.dose_share is None):
            raise ValueError("give exactly one of duration_s or dose_share")
        return self


class Protocol(BaseModel):
    """A validated treatment protocol (see module docstring for the field order rule)."""

    model_config = _STRICT

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    agent: Agent
    polarity: Polarity
    polarity_reversal_halfway: StrictBool = False
    corticosteroid: StrictBool = Field(default=False, validate_default=True)
    electrode_area_cm2: StrictFloat = Field(gt=0, le=1000)
    electrode_rating_ma_min: Literal[40, 80, 160] | None = Field(default=None, validate_default=True)
    density_limit_ma_cm2: StrictFloat = Field(default=DEFAULT_DENSITY_LIMIT_MA_CM2, gt=0, le=DENSITY_WARN_MA_CM2)
    max_current_ma: StrictFloat = Field(gt=0, le=HW_MAX_CURRENT_MA)
    dose_target_ma_min: StrictFloat = Field(gt=0, le=MAX_DOSE_MA_MIN)
    waveform: Waveform = Field(default_factory=DCWaveform)
    ramp_start_ma: StrictFloat = Field(gt=0)
    ramp_rate_ma_s: StrictFloat = Field(ge=SLEW_RANGE_MA_S[0], le=SLEW_RANGE_MA_S[1])
    step_ma: StrictFloat = Field(gt=0)
    ramp_down_s: StrictFloat = Field(gt=0, le=MAX_RAMP_DOWN_S)
    program: list[ProgramStep] | None = Field(default=None, min_length=1, max_length=100)
    notes: str = Field(default="", max_length=MAX_NOTES_CHARS)

    # --- cross-field rules, each on the field it names ----------------------

    @field_validator("polarity")
    @classmethod
    def _polarity_of_known_drug(cls, value: Polarity, info: ValidationInfo) -> Polarity:
        agent: Agent | None = info.data.get("agent")
        if agent is not None and agent.kind is AgentKind.DRUG:
            key = agent.known_name(KNOWN_DRUG_POLARITY)
            if key is not None and KNOWN_DRUG_POLARITY[key] is not value:
                raise ValueError(
                    f"{key} must be delivered from the {KNOWN_DRUG_POLARITY[key].value} "
                    f"(active electrode {'positive' if KNOWN_DRUG_POLARITY[key].anode else 'negative'})"
                )
        return value

    @field_validator("polarity_reversal_halfway")
    @classmethod
    def _reversal_only_tap_water(cls, value: bool, info: ValidationInfo) -> bool:
        agent: Agent | None = info.data.get("agent")
        if value and agent is not None and agent.kind is not AgentKind.TAP_WATER:
            raise ValueError("polarity reversal is only allowed for tap water; a drug has one polarity")
        return value

    @field_validator("corticosteroid")
    @classmethod
    def _corticosteroid_flag(cls, value: bool, info: ValidationInfo) -> bool:
        agent: Agent | None = info.data.get("agent")
        if agent is None:
            return value
        if agent.kind is AgentKind.TAP_WATER and value:
            raise ValueError("tap water is not a corticosteroid")
        key = corticosteroid_named(agent.solution)
        if key is not None and not value:
            raise ValueError(f"{key} is a corticosteroid: set corticosteroid to true")
        return value

    @field_validator("electrode_rating_ma_min")
    @classmethod
    def _drug_electrode_rated(cls, value: int | None, info: ValidationInfo) -> int | None:
        agent: Agent | None = info.data.get("agent")
        if value is None and agent is not None and agent.kind is AgentKind.DRUG:
            raise ValueError(
                f"a drug electrode needs its dose rating ({', '.join(map(str, ELECTRODE_RATINGS_MA_MIN))} mA·min)"
            )
        return value

    @field_validator("max_current_ma")
    @classmethod
    def _density_at_max(cls, value: float, info: ValidationInfo) -> float:
        area = info.data.get("electrode_area_cm2")
        limit = info.data.get("density_limit_ma_cm2")
        if area is not None and limit is not None and value / area > limit + 1e-9:
            raise ValueError(
                f"{value:g} mA over {area:g} cm² is {value / area:.3g} mA/cm², above the "
                f"current density limit of {limit:g} mA/cm² (use a larger electrode or a lower maximum)"
            )
        return value

    @field_validator("dose_target_ma_min")
    @classmethod
    def _dose_within_rating(cls, value: float, info: ValidationInfo) -> float:
        rating = info.data.get("electrode_rating_ma_min")
        if rating is not None and value > rating:
            raise ValueError(f"{value:g} mA·min exceeds the electrode's rating of {rating} mA·min")
        return value

    @field_validator("ramp_start_ma", "step_ma")
    @classmethod
    def _not_above_max(cls, value: float, info: ValidationInfo) -> float:
        maximum = info.data.get("max_current_ma")
        if maximum is not None and value > maximum:
            raise ValueError(f"{value:g} mA is above max_current_ma ({maximum:g} mA)")
        return value

    @field_validator("program")
    @classmethod
    def _program_fits(cls, steps: list[ProgramStep] | None, info: ValidationInfo) -> list[ProgramStep] | None:
        if steps is None:
            return None
        maximum = info.data.get("max_current_ma")
        for number, step in enumerate(steps, start=1):
            if maximum is not None and step.current_ma > maximum:
                raise ValueError(f"step {number}: {step.current_ma:g} mA is above max_current_ma ({maximum:g} mA)")
        by_dose = [s.dose_share is not None for s in steps]
        if any(by_dose) and not all(by_dose):
            raise ValueError("steps must all use duration_s or all use dose_share, not a mix")
        if all(by_dose):
            total = math.fsum(s.dose_share for s in steps)  # type: ignore[misc]
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"dose shares add up to {total:g}, they must add up to 1")
        return steps

    # --- derived values the engine uses ----------------------------------------

    @property
    def duty(self) -> float:
        """Fraction of time the current flows (1 for DC): dose counts amplitude x duty."""
        return self.waveform.duty

    @property
    def pulsed(self) -> bool:
        return isinstance(self.waveform, PulsedWaveform)

    @property
    def dose_cap_ma_min(self) -> float:
        """The charge that must never be exceeded: the electrode rating, or the target for trays."""
        return float(self.electrode_rating_ma_min) if self.electrode_rating_ma_min else self.dose_target_ma_min

    @property
    def carries_drug(self) -> bool:
        return self.agent.kind is AgentKind.DRUG

    @property
    def planned_minutes_at_max(self) -> float:
        return self.dose_target_ma_min / (self.max_current_ma * self.duty)

    @classmethod
    def from_json(cls, text: str | bytes, source: str | None = None) -> "Protocol":
        """Parse and validate JSON; raises ``ProtocolError`` listing every field and reason."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise ProtocolError.from_validation_error(exc, source) from None


class ProtocolError(ValueError):
    """A rejected protocol. ``problems`` is a list of (field path, reason) pairs."""

    def __init__(self, problems: list[tuple[str, str]], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f" ({source})" if source else ""
        lines = "\n".join(f"- {field}: {reason}" for field, reason in problems)
        super().__init__(f"Invalid protocol{where}:\n{lines}")

    @classmethod
    def from_validation_error(cls, exc: ValidationError, source: str | None = None) -> "ProtocolError":
        return cls([(field_path(err["loc"]), _reason(err)) for err in exc.errors()], source)


def field_path(loc: tuple[Any, ...]) -> str:
    """``('waveform', 'pulsed_dc', 'duty_pct')`` -> ``'waveform.duty_pct'``; list indices as ``[i]``."""
    parts: list[str] = []
    for i, item in enumerate(loc):
        if isinstance(item, int) and parts:
            parts[-1] += f"[{item}]"
        elif i > 0 and loc[i - 1] == "waveform" and item in ("dc", "pulsed_dc"):
            continue  # discriminator tag, not a field
        else:
            parts.append(str(item))
    return ".".join(parts) or "(protocol)"


def _reason(err: dict[str, Any]) -> str:
    message = str(err["msg"])
    prefix = "Value error, "
    return message[len(prefix):] if message.startswith(prefix) else message


def load_library() -> list[Protocol]:
    """Every protocol shipped in ``ionto_console/resources/protocols/*.json``, sorted by id.

    Raises ``ProtocolError`` naming the file if one is invalid (a broken
    library is a build defect, never silently skipped), and on duplicate ids.
    """
    folder = resources.files("ionto_console.resources") / "protocols"
    protocols: list[Protocol] = []
    seen: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".json"):
            continue
        protocol = Protocol.from_json(entry.read_text(encoding="utf-8"), source=entry.name)
        if protocol.id in seen:
            raise ProtocolError([("id", f"duplicate id {protocol.id!r}, also in {seen[protocol.id]}")], entry.name)
        seen[protocol.id] = entry.name
        protocols.append(protocol)
    return sorted(protocols, key=lambda p: p.id)


def _name_key(name: str) -> str:
    """Names compared as a person reads them: case and runs of spaces do not make a new name."""
    return " ".join(name.casefold().split())


def read_protocol_file(path: Path, limit: int = MAX_PROTOCOL_FILE_BYTES) -> bytes:
    """The bytes of a clinic protocol file, refusing anything that is not a small regular file.

    WHY so careful: the folder is writable by the clinic. A FIFO named ``clinic.json`` made the
    console hang after sign-in (``open`` waits for a writer), a link to ``/dev/zero`` read until
    memory ran out. ``os.stat`` (following links) refuses non-regular files and large ones before
    anything is opened; the file is then opened non-blocking and checked again on the open
    descriptor (it may have been swapped meanwhile), and at most ``limit`` + 1 bytes are read.
    Raises ``ProtocolError`` naming the file and the reason."""
    source = path.name
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ProtocolError([("(file)", f"could not be read: {exc.strerror or exc}")], source) from None
    if not stat.S_ISREG(info.st_mode):
        raise ProtocolError([("(file)", f"is not a regular file ({_file_kind(info.st_mode)}); "
                                        "only plain .json files are read")], source)
    if info.st_size > limit:
        raise ProtocolError([("(file)", f"is {info.st_size:,} bytes, more than the {limit:,} a protocol "
                                        "file may have")], source)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ProtocolError([("(file)", f"could not be opened: {exc.strerror or exc}")], source) from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise ProtocolError([("(file)", "was replaced by something that is not a regular file")], source)
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            block = os.read(fd, min(65536, limit + 1 - total))
            if not block:
                break
            chunks.append(block)
            total += len(block)
    except OSError as exc:
        raise ProtocolError([("(file)", f"could not be read: {exc.strerror or exc}")], source) from None
    finally:
        os.close(fd)
    if total > limit:
        raise ProtocolError([("(file)", f"grew past the {limit:,} bytes a protocol file may have")], source)
    return b"".join(chunks)


def _file_kind(mode: int) -> str:
    for test, words in ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
                        (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                        (stat.S_ISDIR, "a folder")):
        if test(mode):
            return words
    return "not a plain file"


def load_custom(folder: Path, known_ids: set[str],
                known_names: set[str] | frozenset[str] = frozenset()) -> tuple[list[Protocol], list[str]]:
    """A clinic's own protocols: every ``*.json`` in ``folder``, validated like the library.

    Unlike the shipped library, a bad custom file must not stop the console:
    it is left out and its problems (file, field, reason) are returned for the
    screen. An id or a name that clashes with the library (``known_ids``,
    ``known_names``) or another file is refused too: a clinic protocol called
    like a library protocol but with other parameters would be picked in its
    place. Only small regular files are read (``read_protocol_file``).
    """
    protocols: list[Protocol] = []
    problems: list[str] = []
    seen = set(known_ids)
    names = {_name_key(n) for n in known_names}
    if not folder.is_dir():
        return protocols, problems
    for path in sorted(folder.glob("*.json")):
        try:
            protocol = Protocol.from_json(read_protocol_file(path), source=path.name)
        except ProtocolError as exc:
            problems.append(str(exc))
            continue
        if protocol.id in seen:
            problems.append(str(ProtocolError([("id", f"{protocol.id!r} is already used (the library or another "
                                                      "file); left out")], path.name)))
            continue
        if _name_key(protocol.name) in names:
            problems.append(str(ProtocolError([("name", f"{protocol.name!r} is already the name of a library "
                                                        "protocol or another file; left out")], path.name)))
            continue
        seen.add(protocol.id)
        names.add(_name_key(protocol.name))
        protocols.append(protocol)
    return protocols, problems


def polarity_words(anode: bool) -> str:
    """One electrode's sign in the words on the leads' labels."""
    return "ANODE (+)" if anode else "CATHODE (−)"


def electrode_polarity_text(protocol: Protocol, anode: bool) -> str:
    """Which lead carries what, for the screen and the report.

    WHY spelled out: the therapist checks, before and during the treatment, that
    the drug electrode is on the lead of the drug's charge; a wrong lead drives the
    drug away from the skin. The board's ACTIVE lead carries the protocol's
    polarity, the RETURN lead the opposite one."""
    return lead_text(protocol.carries_drug, anode)


def lead_text(carries_drug: bool, anode: bool) -> str:
    """``electrode_polarity_text`` from plain values (a record's protocol copy)."""
    what = "Drug electrode" if carries_drug else "Treated tray"
    return (f"{what} on the ACTIVE lead: {polarity_words(anode)} · "
            f"return electrode on the RETURN lead: {polarity_words(not anode)}")
