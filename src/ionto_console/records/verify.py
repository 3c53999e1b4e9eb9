"""Verification of the whole record: the audit chain, its anchored heads, and every record's content.

Three checks, each catching what the others cannot:

1. The chain: every entry's hash is recomputed from its content and the
   previous hash (an edited, removed or reordered entry breaks it there).
2. The anchors (``records.anchor``): every head this station signed and kept
   outside the database must still be in the chain with the same hash. A
   deleted tail, a deleted trail, or rows edited and the whole chain
   recomputed all lose or change an anchored head.
3. The records (``records.content``): each record's content (a session with
   its samples, events, side effects, notes, amendments and signatures; a
   patient; a calibration; an account) is recomputed and compared with the
   digest its newest audit entry sealed. The parts stored beside the digest
   say what changed, in plain words.

The verdict names the first bad record and lists every problem found.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import select

from .audit import GENESIS_HASH, AuditVerdict, _hashed_fields, entry_hash
from .anchor import AnchorLine
from .content import PART_WORDS, all_records, digest_of_parts, record_parts
from .models import AuditEntry, TreatmentSession

#: At most this many problems are listed (the first is what matters; the rest show the extent).
MAX_PROBLEMS = 50


def record_words(record: str) -> str:
    """``session:12`` -> ``session 12``; ``account:dana`` -> ``account 'dana'``."""
    kind, _, key = record.partition(":")
    return f"{kind} {key!r}" if kind == "account" else f"{kind} {key}"


@dataclass
class _Seal:
    """The newest seal of a record (its parts JSON is read again only for a record that differs:
    holding every record's parts in memory would cost kilobytes per record)."""

    entry_id: int
    digest: str


def explain(record: str, sealed: dict[str, Any] | None, current: dict[str, Any] | None) -> str:
    """What differs between a record as the audit trail sealed it and as it is now, in plain words."""
    name = record_words(record)
    if current is None:
        return f"{name} was deleted (the audit trail recorded it; the database no longer has it)"
    if sealed is None:
        return f"{name} differs from the audit trail (the trail recorded it as deleted)"
    changes: list[str] = []
    for key in sorted(set(sealed) | set(current)):
        was, now = sealed.get(key), current.get(key)
        if was == now:
            continue
        if key.startswith("field:"):
            field = key.removeprefix("field:")
            if was is None:
                changes.append(f"a field '{field}' appeared")
            elif now is None:
                changes.append(f"its field '{field}' disappeared")
            else:
                changes.append(f"its field '{field}' was changed")
            continue
        words = PART_WORDS.get(key, key)
        if isinstance(was, dict) and isinstance(now, dict) and was.get("n") != now.get("n"):
            changes.append(f"{words}: {was.get('n')} recorded, {now.get('n')} now")
        else:
            changes.append(f"{words} differ")
    return f"{name} was changed outside the console: " + "; ".join(changes or ["its content differs"])


def verify_records(db: Any, only: Iterable[str] | None = None) -> AuditVerdict:
    """Verify the chain and the anchors, then every record (or only the records named in ``only``,
    e.g. ``["session:12", "patient:3"]`` for one report: recomputing a 30-minute session reads all
    its samples, ~0.2 s)."""
    from .anchor import anchor_of

    problems: list[str] = []
    first_bad: str | None = None
    broken_id: int | None = None

    def problem(where: str, words: str) -> None:
        nonlocal first_bad
        if first_bad is None:
            first_bad = where
        if len(problems) < MAX_PROBLEMS:
            problems.append(words)

    # Anchored heads (signed outside the database) of this database at this station.
    anchored: dict[int, AnchorLine] = {}
    anchor_note = "this database is not anchored at this station"
    installed = anchor_of(db)
    firsts: dict[str, AnchorLine] = {}
    anchor = None
    if installed is not None:
        anchor, label = installed
        lines, bad_lines = anchor.lines(label)
        for words in bad_lines:
            problem("anchors", f"The station's anchor file: {words}.")
        for line in lines:
            anchored[line.seq] = line
            firsts.setdefault(line.first, line)
        twice = anchored_twice(anchor, lines)
        if twice is not None:
            problem("audit trail", f"The audit trail: {_twice_words(*twice)}.")
        anchor_note = (f"{len(lines)} heads anchored at this station" if lines
                       else "no heads anchored at this station yet")

    def forged(line: AnchorLine) -> bool:
        """Check the signature of a line verification is about to act on (see Anchor.lines)."""
        if anchor is not None and anchor.authentic(line):
            return False
        name = anchor.path if anchor is not None else "the station's anchor file"
        problem("anchors", f"line {line.number} of {name} is not signed by this station's key (edited or forged)")
        return True

    seals: dict[str, _Seal] = {}
    legacy: set[str] = set()
    prev_hash, expected_seq, count = GENESIS_HASH, 1, 0
    last_good_anchor = 0
    anchors_checked = 0
    with db.read() as s:
        stream = s.execute(select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=1000))
        for entry in stream.scalars():
            count += 1
            if broken_id is None:
                why = None
                if entry.seq != expected_seq:
                    missing = "deleted" if entry.seq > expected_seq else "duplicated or reordered"
                    why = (f"sequence {entry.seq} follows {expected_seq - 1}; an entry before it was {missing}")
                elif entry.prev_hash != prev_hash:
                    why = "does not link to the entry before it (an earlier entry was removed or replaced)"
                elif entry_hash(prev_hash, _hashed_fields(entry)) != entry.hash:
                    why = "content does not match its hash (the entry was edited)"
                if why is not None:
                    broken_id = entry.id
                    problem(f"audit entry {entry.id}", f"audit entry {entry.id}: {why}")
            if entry.seq in anchored:
                anchors_checked += 1
                line = anchored[entry.seq]
                if line.head != entry.hash:
                    if not forged(line):
                        problem(f"audit entry {entry.id}",
                                f"audit entry {entry.id} (#{entry.seq}) is not the one this station anchored at "
                                f"{line.at}: the audit trail was rewritten after entry #{last_good_anchor}, at or "
                                f"before #{entry.seq} (rows edited and the chain recomputed)")
                elif first_bad is None:
                    last_good_anchor = entry.seq
            if entry.record:
                seals[entry.record] = _Seal(entry.id, entry.content_sha256 or "")
            elif entry.record is None and entry.entity in ("session", "patient", "calibration", "user"):
                kind = "account" if entry.entity == "user" else entry.entity
                legacy.add(f"{kind}:{entry.entity_id}")
            if broken_id is None:
                prev_hash = entry.hash
                expected_seq += 1
        head_seq = expected_seq - 1
        beyond = sorted((seq for seq in anchored if seq > head_seq), reverse=True)
        last_seq = next((seq for seq in beyond if not forged(anchored[seq])), 0)
        if last_seq and broken_id is None:
            at = anchored[last_seq].at
            if count == 0:
                problem("audit trail", f"the whole audit trail was deleted: this station anchored entry "
                        f"#{last_seq} at {at}, and the database has no entries")
            else:
                problem("audit trail", f"the newest audit entries were deleted: this station anchored entry "
                        f"#{last_seq} at {at}, and the trail now ends at #{head_seq}")
        first_now = s.scalar(select(AuditEntry.hash).where(AuditEntry.seq == 1))
        if first_now is not None and firsts and first_now not in firsts and any(
                not forged(line) for line in firsts.values()):
            problem("audit trail", "the audit trail was replaced from its first entry (it does not start "
                    "where the trail this station anchored starts)")

        # Every record now in the database against its newest seal.
        present = all_records(s)
        unsealed = 0
        chosen = present + sorted(set(seals) - set(present))
        if only is not None:
            wanted = set(only)
            chosen = [r for r in chosen if r in wanted]
            present = [r for r in present if r in wanted]
        for record in chosen:
            seal = seals.get(record)
            if seal is None:
                if record in legacy:
                    unsealed += 1  # written before tamper evidence covered content (migration 0006)
                    continue
                problem(record, f"{record_words(record)} is not in the audit trail (added outside the console)")
                continue
            current = record_parts(s, record)
            if seal.digest == "":
                state = _state(s, record)
                if state == "running":
                    unsealed += 1
                    continue
                problem(record, f"{record_words(record)} was closed outside the console (state {state!r}; "
                        "the audit trail has it still running)")
                continue
            if current is not None and digest_of_parts(current) == seal.digest:
                continue
            if current is None and seal.digest == "deleted":
                continue
            content = s.scalar(select(AuditEntry.content).where(AuditEntry.id == seal.entry_id))
            try:
                sealed = json.loads(content) if content else None
            except ValueError:
                sealed = None
            problem(record, explain(record, sealed, current))

    ok = not problems
    if ok:
        reason = (f"{count} entries, chain intact; {len(present)} records match their audit entries"
                  + (f" ({unsealed} running or from before tamper evidence)" if unsealed else "")
                  + f"; {anchor_note}")
    else:
        reason = problems[0]
    return AuditVerdict(ok, broken_id, reason, count, head_seq, prev_hash, first_bad, tuple(problems),
                        len(present), unsealed, anchors_checked, anchor_note)


def _state(s: Any, record: str) -> str | None:
    kind, _, key = record.partition(":")
    if kind != "session":
        return None
    return s.scalar(select(TreatmentSession.state).where(TreatmentSession.id == int(key)))


def seal_legacy(db: Any, *, who: str) -> list[str]:
    """Seal the records written before tamper evidence (migration 0006) as they are now; returns them.

    WHY explicit (``ionto-records seal``, an administrator): a database upgraded from an older
    release has records whose audit entries carry no content digest, so verification can only count
    them. Sealing says "these records are as they are now", audited as done by ``who``; run
    ``verify`` first, since whatever was changed before the seal is sealed too. Refused while the
    chain itself does not verify."""
    from .audit import append_audit

    verdict = verify_records(db)
    if verdict.first_broken_entry_id is not None:
        raise ValueError(f"the audit chain is broken ({verdict.reason}); records are not sealed")
    with db.read() as s:
        sealed = set(s.scalars(select(AuditEntry.record).where(AuditEntry.record.is_not(None))))
        legacy = [r for r in all_records(s) if r not in sealed]
    done: list[str] = []
    for record in legacy:
        kind, _, key = record.partition(":")
        entity = "user" if kind == "account" else kind
        with db.write() as s:
            append_audit(s, who=who, action="seal", entity=entity, entity_id=key,
                         why="sealed as found: written before tamper evidence (migration 0006)")
        done.append(record)
    return done


def anchored_tail_problem(db: Any) -> str:
    """At start-up: is the newest head this station anchored still the chain's entry at that
    number, and was no number anchored twice with different heads? "" when so (or nothing is
    anchored here yet).

    WHY at start-up: a full ``verify_records`` reads every record (seconds on a year's records),
    so it runs when someone asks. This check reads the anchor file and two indexed rows, and
    catches the commonest edits made behind the console's back while it was closed: the newest
    entries deleted, the whole trail deleted, or rows edited and the chain recomputed (its newest
    anchored hash then differs); at every later start, the same number anchored twice (the
    console wrote past a deleted tail). Other edits are left to the full verification."""
    from .anchor import anchor_of

    installed = anchor_of(db)
    if installed is None:
        return ""
    anchor, label = installed
    lines, _unreadable = anchor.lines(label)  # a damaged line is the full verification's to name
    if not lines:
        return ""
    newest = max(lines, key=lambda line: line.seq)
    with db.read() as s:
        at_seq = s.scalar(select(AuditEntry.hash).where(AuditEntry.seq == newest.seq))
        tail = s.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0
    if at_seq == newest.head or not anchor.authentic(newest):  # intact, or forged (the full check names it)
        twice = anchored_twice(anchor, lines)
        if twice is None:
            return ""
        what = _twice_words(*twice)
    elif at_seq is None:
        what = (f"the audit trail ends at entry #{tail}, but this station recorded entry #{newest.seq} "
                f"on {newest.at}: entries were deleted")
    else:
        what = (f"audit entry #{newest.seq} is not the one this station recorded on {newest.at}: "
                "the audit trail was rewritten")
    return (f"Records check at start-up: {what}. Run \"Verify audit trail\" in the Records tab (or "
            "ionto-records verify) and tell the person responsible for the records.")



def anchored_twice(anchor: Any, lines: list[AnchorLine]) -> tuple[AnchorLine, AnchorLine] | None:
    """Two authentic lines for the same entry number of the same trail (same first entry) with
    different heads, or None. WHY: the trail lost entries or was rewritten, and the console has
    since written past that point, so the newest line for that number matches the chain again;
    the earlier line stays evidence for good."""
    first_seen: dict[tuple[str, int], AnchorLine] = {}
    for line in lines:
        earlier = first_seen.setdefault((line.first, line.seq), line)
        if earlier.head != line.head and anchor.authentic(earlier) and anchor.authentic(line):
            return earlier, line
    return None


def _twice_words(earlier: AnchorLine, later: AnchorLine) -> str:
    return (f"this station recorded audit entry #{later.seq} twice with different contents (on {earlier.at} "
            f"and on {later.at}): entries were deleted or rewritten in between")
