"""A chat thread as a tree of turns, so editing and regenerating keep old branches.

Every turn has a parent (None for the first).  Siblings are alternatives:
regenerating a reply adds a sibling assistant turn, and editing a message
and sending it again adds a sibling user turn.  The thread remembers which
sibling is selected at each level; :meth:`ChatThread.path` follows those
choices from the root and is what the transcript shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from desktop.core.records import new_id
from desktop.core.text.prompt import ChatMessage


@dataclass
class Turn:
    role: str  # "user" | "assistant"
    content: str
    parent: str | None
    id: str = field(default_factory=new_id)
    record_id: str = ""  # the history record of an assistant reply
    stats: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    finish_reason: str = ""


class ChatThread:
    """Turns of one conversation plus the selected branch; no Qt, no I/O."""

    def __init__(self, title: str = "New chat", thread_id: str | None = None) -> None:
        self.id = thread_id or new_id()
        self.title = title
        self.turns: dict[str, Turn] = {}
        self._children: dict[str | None, list[str]] = {None: []}
        self._selected: dict[str | None, str] = {}

    # --- structure ---------------------------------------------------------------
    def add(self, role: str, content: str, parent: str | None) -> Turn:
        """Append a turn under ``parent`` and select it."""
        turn = Turn(role, content, parent)
        self.turns[turn.id] = turn
        self._children.setdefault(parent, []).append(turn.id)
        self._children[turn.id] = []
        self._selected[parent] = turn.id
        if role == "user" and parent is None and self.title == "New chat":
            self.title = content.strip().splitlines()[0][:40] if content.strip() else self.title
        return turn

    def children(self, parent: str | None) -> list[Turn]:
        return [self.turns[i] for i in self._children.get(parent, [])]

    def path(self) -> list[Turn]:
        """The selected conversation, first turn first."""
        out: list[Turn] = []
        parent: str | None = None
        while True:
            kids = self._children.get(parent) or []
            if not kids:
                return out
            chosen = self._selected.get(parent)
            turn = self.turns[chosen if chosen in kids else kids[-1]]
            out.append(turn)
            parent = turn.id

    @property
    def last(self) -> Turn | None:
        path = self.path()
        return path[-1] if path else None

    def siblings(self, turn_id: str) -> tuple[int, int]:
        """(1-based position, count) of a turn among its alternatives."""
        kids = self._children[self.turns[turn_id].parent]
        return kids.index(turn_id) + 1, len(kids)

    def select_sibling(self, turn_id: str, step: int) -> Turn:
        """Show the previous (-1) or next (+1) alternative of ``turn_id``."""
        parent = self.turns[turn_id].parent
        kids = self._children[parent]
        index = max(0, min(len(kids) - 1, kids.index(turn_id) + step))
        self._selected[parent] = kids[index]
        return self.turns[kids[index]]

    def delete(self, turn_id: str) -> int:
        """Remove a turn and everything after it on every branch; returns how many went."""
        stack, gone = [turn_id], []
        while stack:
            current = stack.pop()
            gone.append(current)
            stack.extend(self._children.pop(current, []))
        parent = self.turns[turn_id].parent
        self._children[parent].remove(turn_id)
        if self._selected.get(parent) == turn_id:
            self._selected.pop(parent)
        for i in gone:
            self.turns.pop(i, None)
            self._selected.pop(i, None)
        return len(gone)

    # --- what to send ------------------------------------------------------------------
    def messages_before(self, turn_id: str | None) -> list[ChatMessage]:
        """The selected conversation up to (not including) ``turn_id``; all of it for None."""
        out = []
        for turn in self.path():
            if turn.id == turn_id:
                break
            out.append(ChatMessage(turn.role, turn.content))
        return out

    def previous_reply_record(self, turn_id: str) -> str:
        """The history record id of the last reply before ``turn_id`` (the record's parent)."""
        record = ""
        for turn in self.path():
            if turn.id == turn_id:
                break
            if turn.role == "assistant" and turn.record_id:
                record = turn.record_id
        return record
