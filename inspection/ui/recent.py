"""The reviewer's latest decision(s), kept in their session for the undo offer shown on the page
that follows (the next task, the grid or the queue) while the undo window lasts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.sessions.backends.base import SessionBase

from inspection.models import ReviewDecision
from inspection.review.access import User
from inspection.review.undo import undo_deadline, undoable

SESSION_KEY = "review_last_decisions"


@dataclass(frozen=True)
class UndoOffer:
    decisions: list[ReviewDecision]
    deadline: datetime

    @property
    def label(self) -> str:
        first = self.decisions[0]
        if len(self.decisions) > 1:
            return f"Accepted {len(self.decisions)} images"
        name = first.image.original_name or "the image"
        return f"{first.get_action_display()}: {name}"


def remember(session: SessionBase, decisions: list[ReviewDecision]) -> None:
    session[SESSION_KEY] = [decision.pk for decision in decisions]


def last_decisions(session: SessionBase) -> list[ReviewDecision]:
    ids = session.get(SESSION_KEY, [])
    rows = ReviewDecision.objects.filter(pk__in=ids).select_related("image", "task")
    return list(rows.order_by("pk"))


def undo_offer(session: SessionBase, user: User) -> UndoOffer | None:
    decisions = last_decisions(session)
    if not undoable(decisions, user):
        return None
    return UndoOffer(decisions, min(undo_deadline(d) for d in decisions))


def forget(session: SessionBase) -> None:
    session.pop(SESSION_KEY, None)
