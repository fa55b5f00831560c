"""Replay requests: which failed images a request names (one image, one batch, or every failed
image of a reason, optionally at one facility; always within the caller's facilities, a foreign
id being a 404), replaying them through inspection.pipeline.replay (optionally against another
registered model version), and the request's audit row (ReplayRequest), written in the same
transaction as the resets.

Idempotent twice over: only images still failed are reset (a second request finds them queued
and reports them skipped), and a request repeated with the same idempotency key by the same
caller (a double click on the page, a client retry) finds the first request's row and replays
nothing; the same key for a different request is refused."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from inspection.dead_letters.selectors import FacilityScope, FailedFilter, failed_images
from inspection.inference.registry import model_by_ref
from inspection.models import ApiKey, Batch, Facility, Image, ModelVersion, ReplayRequest
from inspection.observability import hooks
from inspection.pipeline.replay import replay_images
from inspection.services import DomainError

Scope = ReplayRequest.Scope
REASON_PATTERN = re.compile(r"^[a-z0-9_]{1,64}$")


class InvalidReplay(DomainError):
    code = "invalid_replay"


class UnknownModelVersion(DomainError):
    code = "unknown_model_version"


class ReplayKeyReused(DomainError):
    code = "idempotency_key_reused"


@dataclass(frozen=True)
class ReplayScope:
    """What to replay: `image`, or `batch` (optionally only a `reason`), or a `reason` alone
    (optionally only at `facility`, a slug)."""

    image: uuid.UUID | None = None
    batch: uuid.UUID | None = None
    reason: str = ""
    facility: str = ""

    def __post_init__(self) -> None:
        if self.reason and not REASON_PATTERN.match(self.reason):
            raise InvalidReplay(f"{self.reason!r} is not a failure reason (e.g. inference_error).")
        if self.image is not None:
            if self.batch or self.reason or self.facility:
                raise InvalidReplay("An image is replayed alone: no batch, reason or facility.")
        elif self.batch is not None:
            if self.facility:
                raise InvalidReplay("A batch belongs to one facility: do not name one.")
        elif not self.reason:
            raise InvalidReplay("Name one image, one batch, or a reason.")

    @property
    def kind(self) -> str:
        if self.image is not None:
            return Scope.IMAGE
        return Scope.BATCH if self.batch is not None else Scope.REASON

    def fingerprint(self, model: ModelVersion | None) -> str:
        """What makes two requests "the same request" for an idempotency key."""
        parts = [self.kind, str(self.image or ""), str(self.batch or ""), self.reason]
        parts += [self.facility, str(model.pk if model else "")]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Caller:
    """Who asks: `key` scopes idempotency keys, `author` says it in words on the audit row."""

    key: str
    author: str
    user: User | None = None
    api_key: ApiKey | None = None

    @classmethod
    def of_user(cls, user: User, where: str) -> Caller:
        return cls(f"user:{user.pk}", f"{where} {user.get_username()}", user=user)

    @classmethod
    def of_api_key(cls, key: ApiKey) -> Caller:
        return cls(f"key:{key.pk}", f"api key {key.name} ({key.prefix})", api_key=key)

    @classmethod
    def command(cls, name: str) -> Caller:
        return cls("command", f"manage.py {name}")


@dataclass(frozen=True)
class ReplayOutcome:
    request: ReplayRequest
    created: bool  # False: an idempotent repeat, which replayed nothing


def model_named(ref: str) -> ModelVersion:
    """The registered model version `name:version` (or id) a replay is asked to use."""
    model = model_by_ref(ref.strip())
    if model is None:
        raise UnknownModelVersion(f"No registered model version {ref!r} (name:version).")
    return model


def request_replay(
    facilities: FacilityScope,
    scope: ReplayScope,
    caller: Caller,
    model: ModelVersion | None = None,
    idempotency_key: str | None = None,
) -> ReplayOutcome:
    fingerprint = scope.fingerprint(model)
    earlier = _earlier(caller, idempotency_key)
    if earlier is not None:
        return _repeat(earlier, fingerprint)
    named, facility = _named_images(facilities, scope)
    row = ReplayRequest(
        requested_by=caller.user,
        api_key=caller.api_key,
        author=caller.author,
        caller=caller.key,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        scope=scope.kind,
        image_id=scope.image,
        batch_id=scope.batch,
        reason=scope.reason,
        facility=facility,
        model_version=model,
    )
    try:
        return ReplayOutcome(_replay_and_record(named, row), created=True)
    except IntegrityError:
        # The same key committed first by a concurrent request: its resets stand, ours rolled
        # back with this transaction.
        earlier = _earlier(caller, idempotency_key)
        if earlier is None:
            raise
        return _repeat(earlier, fingerprint)


def _replay_and_record(named: list[Any], row: ReplayRequest) -> ReplayRequest:
    """The resets and their audit row, in one transaction."""
    with transaction.atomic():
        replayed = set(replay_images(named, row.model_version))
        if replayed:
            transaction.on_commit(partial(hooks.images_replayed, replayed))
        row.replayed = len(replayed)
        row.skipped_ids = [str(image_id) for image_id in named if image_id not in replayed]
        row.save()
    return row


def _earlier(caller: Caller, idempotency_key: str | None) -> ReplayRequest | None:
    if not idempotency_key:
        return None
    rows = ReplayRequest.objects.filter(caller=caller.key, idempotency_key=idempotency_key)
    return rows.first()


def _repeat(earlier: ReplayRequest, fingerprint: str) -> ReplayOutcome:
    if earlier.fingerprint != fingerprint:
        raise ReplayKeyReused("This Idempotency-Key was already used for a different replay.")
    return ReplayOutcome(earlier, created=False)


def _named_images(
    facilities: FacilityScope, scope: ReplayScope
) -> tuple[list[Any], Facility | None]:
    """The images the request names and the facility it is at (when one), or 404."""
    if scope.image is not None:
        image = get_object_or_404(_images(facilities), pk=scope.image)
        return [image.pk], image.facility
    if scope.batch is not None:
        batch = get_object_or_404(Batch.objects.filter(facility__in=facilities), pk=scope.batch)
        where = FailedFilter(reason=scope.reason, batch=batch.pk)
        return _ids(failed_images(facilities, where)), batch.facility
    facility = None
    if scope.facility:
        facility = get_object_or_404(
            Facility.objects.filter(pk__in=facilities), slug=scope.facility
        )
    where = FailedFilter(facility=scope.facility, reason=scope.reason)
    return _ids(failed_images(facilities, where)), facility


def _images(facilities: FacilityScope) -> QuerySet[Image]:
    return Image.objects.filter(facility__in=facilities).select_related("facility")


def _ids(images: QuerySet[Image]) -> list[Any]:
    return list(images.order_by("finished_at", "pk").values_list("id", flat=True))
