"""Publishing task messages by name: ids in, JSON only, explicit queue and task id.

The Celery app is imported when a message is sent, not at import time: the app module imports
Django settings, and the services that publish are imported while Django is still loading."""

from __future__ import annotations


def send(task_name: str, arg: str, queue: str, task_id: str, countdown: int = 0) -> None:
    from config.celery_app import app

    options = {"countdown": countdown} if countdown else {}
    app.send_task(task_name, args=[arg], queue=queue, task_id=task_id, **options)
