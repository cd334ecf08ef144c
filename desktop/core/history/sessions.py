"""Sessions in the History workspace: what to call one, and how recent results group into them.

A session is the records sharing a non-empty ``session_id``: one chat thread,
one run of the Images workspace, one ``genlab text`` / ``genlab image``
command.  :func:`load_session_summaries` reads what names a session (its first
prompt, time span, kinds, models, size) from the store; it runs in an ``io``
job, never on the GUI thread.  :func:`group_by_day` lays recent hits out as
day headers, session groups and lone records.  No Qt here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

TITLE_CHARS = 48
SUMMARY_COLUMNS = ["session_id", "created_at", "prompt", "kind", "model_name", "model_file"]


def shorten(text: str, limit: int = TITLE_CHARS) -> str:
    """``text`` on one line, cut at a word to at most ``limit`` characters (with an ellipsis)."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[:limit - 1]
    if " " in cut[limit // 2:]:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" ,.;:") + "…"


def time_span(first: datetime, last: datetime) -> str:
    """Local ``HH:MM–HH:MM``; with the dates when the span crosses midnight."""
    a, b = first.astimezone(), last.astimezone()
    if a.date() != b.date():
        return f"{a:%d %b %H:%M} – {b:%d %b %H:%M}"
    return f"{a:%H:%M}" if f"{a:%H:%M}" == f"{b:%H:%M}" else f"{a:%H:%M}–{b:%H:%M}"


@dataclass
class SessionSummary:
    """What names a session: its first prompt, when, what and with which model(s)."""

    session_id: str
    title: str
    first_at: datetime
    last_at: datetime
    count: int
    kinds: tuple[str, ...] = ()
    models: tuple[str, ...] = ()  # most used first

    @property
    def label(self) -> str:
        """Short and readable: for the session filter chip."""
        return f"“{self.title or 'untitled'}”"

    @property
    def kind_text(self) -> str:
        return " + ".join(self.kinds)

    @property
    def model_text(self) -> str:
        if not self.models:
            return ""
        return self.models[0] + (f" +{len(self.models) - 1}" if len(self.models) > 1 else "")

    def describe(self) -> str:
        """A few lines for a tooltip, ending with the raw id (for ``genlab history delete --session``)."""
        records = "1 record" if self.count == 1 else f"{self.count} records"
        what = " · ".join(x for x in (self.kind_text, self.model_text, records) if x)
        return (f"Session {self.label}\n{self.first_at.astimezone():%Y-%m-%d} {time_span(self.first_at, self.last_at)}"
                f" · {what}\nid {self.session_id}")


def summaries_from_records(records) -> dict[str, SessionSummary]:
    """Summaries of the sessions of ``records`` (GenerationRecords), counting only those records."""
    rows = [{"session_id": r.session_id, "created_at": r.created_at, "prompt": r.prompt, "kind": r.kind,
             "model_name": r.model.name, "model_file": r.model.file} for r in records if r.session_id]
    return _summaries(rows)


def load_session_summaries(store, session_ids) -> dict[str, SessionSummary]:
    """Whole-session summaries from the store for the given ids (empty ids ignored). Blocking: run as a job."""
    from desktop.core.history.store import sql_str

    ids = sorted({s for s in session_ids if s})
    rows: list[dict] = []
    for start in range(0, len(ids), 200):
        chunk = ids[start:start + 200]
        where = "session_id IN (" + ", ".join(sql_str(s) for s in chunk) + ")"
        rows += store.scan(SUMMARY_COLUMNS, where).to_pylist()
    return _summaries(rows)


def _summaries(rows: list[dict]) -> dict[str, SessionSummary]:
    by_session: dict[str, list[dict]] = {}
    for row in rows:
        by_session.setdefault(row["session_id"], []).append(row)
    out = {}
    for session_id, members in by_session.items():
        members.sort(key=lambda r: r["created_at"])
        kinds = tuple(sorted({r["kind"] for r in members}, key=lambda k: (k != "text", k)))
        models = Counter(r["model_name"] or r["model_file"] for r in members if r["model_name"] or r["model_file"])
        out[session_id] = SessionSummary(session_id, shorten(members[0]["prompt"]), members[0]["created_at"],
                                         members[-1]["created_at"], len(members), kinds,
                                         tuple(name for name, _ in models.most_common()))
    return out


@dataclass
class SessionGroup:
    """The hits of one session within one day, newest first, under a session row."""

    session_id: str
    hits: list = field(default_factory=list)

    def span(self) -> str:
        return time_span(self.hits[-1].record.created_at, self.hits[0].record.created_at)


def day_of(hit) -> str:
    return hit.record.created_at.astimezone().strftime("%A %d %B %Y")


def group_by_day(hits) -> list[tuple[str, list]]:
    """``[(day, entries)]`` in the order of ``hits`` (newest first).

    Within a day, the hits of a session with two or more of them that day
    become one :class:`SessionGroup` placed where its newest hit was; hits
    without a session, or alone of theirs that day, stay plain Hits.
    """
    days: list[tuple[str, list]] = []
    for hit in hits:
        day = day_of(hit)
        if not days or days[-1][0] != day:
            days.append((day, []))
        days[-1][1].append(hit)
    out = []
    for day, day_hits in days:
        sizes = Counter(h.record.session_id for h in day_hits if h.record.session_id)
        entries: list = []
        groups: dict[str, SessionGroup] = {}
        for hit in day_hits:
            sid = hit.record.session_id
            if sizes.get(sid, 0) < 2:
                entries.append(hit)
            elif sid in groups:
                groups[sid].hits.append(hit)
            else:
                groups[sid] = SessionGroup(sid, [hit])
                entries.append(groups[sid])
        out.append((day, entries))
    return out
