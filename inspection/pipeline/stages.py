"""The pipeline's stages, defined once: each stage's task name, the statuses an image waits and
is held in, its broker queue and priority, and its time limits; and the two kinds of worker with
the queues each consumes. Tasks, enqueueing, routing, claims, the sweeper, metrics and the worker
commands read them from here; tests/test_deploy_files.py holds the deployment files to them."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from inspection.statuses import ImageStatus as Status


@dataclass(frozen=True)
class Stage:
    name: str
    task: str
    waiting: str
    leased: str
    # The Django setting that names the stage's broker queue.
    queue_setting: str
    # Redis serves lower numbers first (kombu's steps 0, 3, 6, 9): preprocessing, whose messages
    # arrive in bulk with each submission, waits behind validation on the CPU queue.
    priority: int
    # Seconds: Celery's soft and hard time limits of one task.
    soft_limit: int
    hard_limit: int
    # The Django setting that names how many images one message claims at most.
    batch_setting: str

    @property
    def queue(self) -> str:
        return str(getattr(settings, self.queue_setting))

    @property
    def batch_size(self) -> int:
        return max(1, int(getattr(settings, self.batch_setting)))


PREPROCESS = Stage(
    "preprocess", "inspection.preprocess_image", Status.QUEUED, Status.PREPROCESSING,
    "CPU_QUEUE_NAME", 3, 60, 90, "PREPROCESS_BATCH_SIZE",
)  # fmt: skip
INFER = Stage(
    "infer", "inspection.infer_image", Status.PREPROCESSED, Status.INFERRING,
    "INFERENCE_QUEUE_NAME", 0, 60, 90, "INFERENCE_BATCH_SIZE",
)  # fmt: skip
VALIDATE = Stage(
    "validate", "inspection.validate_image", Status.INFERRED, Status.VALIDATING,
    "CPU_QUEUE_NAME", 0, 60, 90, "VALIDATE_BATCH_SIZE",
)  # fmt: skip
STAGES = (PREPROCESS, INFER, VALIDATE)
STAGE_BY_STATUS = {status: stage for stage in STAGES for status in (stage.waiting, stage.leased)}
STAGE_BY_TASK = {stage.task: stage for stage in STAGES}


@dataclass(frozen=True)
class WorkerRole:
    """A kind of worker: the name its heartbeats and metrics carry, and the Django settings
    that name the queues it consumes."""

    name: str
    queue_settings: tuple[str, ...]

    @property
    def queues(self) -> list[str]:
        return [str(getattr(settings, name)) for name in self.queue_settings]

    @property
    def queue_arg(self) -> str:
        """Celery's `-Q` value."""
        return ",".join(self.queues)

    def stages(self) -> list[Stage]:
        return [stage for stage in STAGES if stage.queue in self.queues]


# CPU workers take the CPU stages and the maintenance queue (sweeps, webhooks, exports);
# inference workers take the inference queue only, so a GPU never waits behind other work.
CPU_ROLE = WorkerRole("cpu", ("CPU_QUEUE_NAME", "MAINTENANCE_QUEUE_NAME"))
INFERENCE_ROLE = WorkerRole("inference", ("INFERENCE_QUEUE_NAME",))
ROLES = (CPU_ROLE, INFERENCE_ROLE)


def stage_queues() -> list[str]:
    """The queues stage messages go to, each once, in stage order."""
    return list(dict.fromkeys(stage.queue for stage in STAGES))
