"""The tasks a reviewer skipped, kept in their session: "next" passes over them, so a skip brings
a different task, until nothing else is left (then they come round again)."""

from __future__ import annotations

from django.contrib.sessions.backends.base import SessionBase

SESSION_KEY = "review_skipped"
MAX_SKIPPED = 200  # the oldest skips are forgotten first


def skipped(session: SessionBase) -> list[int]:
    return [int(task_id) for task_id in session.get(SESSION_KEY, [])]


def add(session: SessionBase, task_id: int) -> None:
    ids = [i for i in skipped(session) if i != task_id] + [task_id]
    session[SESSION_KEY] = ids[-MAX_SKIPPED:]


def forget(session: SessionBase, task_id: int | None = None) -> None:
    """Forget one skip (the task was opened on purpose), or all of them."""
    ids = [] if task_id is None else [i for i in skipped(session) if i != task_id]
    session[SESSION_KEY] = ids
