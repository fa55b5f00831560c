"""Celery settings, derived from Django settings so there is one source of configuration."""

from __future__ import annotations

from django.conf import settings

from inspection import task_names
from inspection.observability.broker import PRIORITY_SEPARATOR
from inspection.pipeline.stages import STAGES

broker_url = settings.CELERY_BROKER_URL
broker_connection_retry_on_startup = True
# A message a worker took and never acknowledged (the worker died) goes back to its queue after
# this long. The stages do not need it (their leases run out in PIPELINE_LEASE_SECONDS and the
# sweeper sends what is missing): it only has to outlast the longest stage task, so a slow task is
# not handed out twice. Longer tasks (exports) and delayed messages (webhook retries) are fenced by
# their own claims, and webhook delays never exceed it (webhooks/delivery.py).
VISIBILITY_TIMEOUT_SECONDS = 300
broker_transport_options: dict[str, object] = {
    "visibility_timeout": VISIBILITY_TIMEOUT_SECONDS,
    # A queue's lower-priority messages live in lists named `<queue>:<step>` (e.g. `cpu:3`,
    # preprocessing), readable names for KEDA and for people (kombu's default is "\x06\x16").
    "sep": PRIORITY_SEPARATOR,
}
if broker_url.startswith("filesystem://"):
    broker_transport = "config.embedded_broker:Transport"
    folder = settings.BROKER_DATA_DIR
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    broker_transport_options.update(
        {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            # Exchange bindings; the default is a "control" folder in the working directory.
            "control_folder": str(folder / "control"),
            "store_processed": False,
            # The filesystem transport polls; the default 1 s per hop would dominate latency.
            "polling_interval": 0.05,
        }
    )

task_serializer = "json"
accept_content = ["json"]
task_ignore_result = True
result_backend = None
task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER
task_eager_propagates = True

# At-least-once delivery; every stage is idempotent, and our own attempt counter caps a message
# that keeps killing its worker.
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
worker_cancel_long_running_tasks_on_connection_loss = True
worker_max_memory_per_child = None

# A broker that is away must not hold a submission for long: its messages are left to the sweeper.
task_publish_retry_policy = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.25,
    "interval_max": 0.5,
}

# Stage messages are sent to their stage's queue (pipeline/stages.py); everything else (sweeps,
# webhooks, exports) goes to the maintenance queue.
task_default_queue = settings.MAINTENANCE_QUEUE_NAME
task_routes = {stage.task: {"queue": stage.queue} for stage in STAGES}

beat_schedule = {
    "sweep-stalled-images": {
        "task": task_names.SWEEP_STALLED,
        "schedule": float(settings.PIPELINE_SWEEP_INTERVAL_SECONDS),
    },
    "republish-due-webhooks": {
        "task": task_names.REPUBLISH_WEBHOOKS,
        "schedule": float(settings.WEBHOOK_SWEEP_INTERVAL_SECONDS),
    },
    "sweep-exports": {
        "task": task_names.SWEEP_EXPORTS,
        "schedule": float(settings.EXPORT_SWEEP_INTERVAL_SECONDS),
    },
    "check-drift": {
        "task": task_names.CHECK_DRIFT,
        "schedule": float(settings.DRIFT_CHECK_INTERVAL_SECONDS),
    },
}
