"""Publishing task messages by name: ids in, JSON only, explicit queue and task id.

The Celery app is imported when a message is sent, not at import time: the app module imports
Django settings, and the services that publish are imported while Django is still loading."""

from __future__ import annotations

from typing import Any


def send(
    task_name: str, arg: str, queue: str, task_id: str, countdown: int = 0, priority: int = 0
) -> None:
    """`priority`: Redis serves lower numbers first (kombu's steps 0, 3, 6, 9); 0 is the
    default. Other brokers here ignore it."""
    from config.celery_app import app

    # Keyword options of send_task, each of its own type (Celery's stubs type them one by one).
    options: dict[str, Any] = {"countdown": countdown} if countdown else {}
    if priority:
        options["priority"] = priority
    app.send_task(task_name, args=[arg], queue=queue, task_id=task_id, **options)
