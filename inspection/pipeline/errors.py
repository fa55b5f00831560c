"""Which errors are worth a retry, and the stop exception every stage raises to end an image."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError

# Database connection trouble, storage I/O, broker trouble: retried with backoff and a cap.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    BrokerOperationalError,
    OSError,
)


class StageFailed(Exception):
    """The image cannot go on: it ends `failed` with this reason, keeping `fields` (what was
    learnt of it before it failed, e.g. its size and format)."""

    def __init__(
        self, reason: str, detail: str = "", fields: dict[str, object] | None = None
    ) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.fields = fields or {}
