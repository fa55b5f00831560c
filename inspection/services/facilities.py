"""Facilities and what makes one usable. Whatever creates a facility (a command, the admin, the
demo, the bench) goes through here, and a new facility gets the bundled default model with its
calibrated thresholds as its active model unless the caller chooses another. A facility without
a model is refused at submission with the command that fixes it (`require_model`)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction

from inspection.inference import registry
from inspection.models import Facility, ModelVersion
from inspection.pipeline.policies import policy_for
from inspection.services import DomainError
from inspection.services.default_model import bundled_model


class NoActiveModel(DomainError):
    code = "no_active_model"

    def __init__(self, facility: Facility) -> None:
        self.fix = f"manage.py activate_model --facility {facility.slug} --default"
        super().__init__(
            f"Facility '{facility.slug}' has no active model, so nothing sent to it could be "
            f"processed. Run `{self.fix}` (the bundled default model), or register your own "
            f"with `manage.py register_model --path FILE --name NAME --version V "
            f"--activate-for {facility.slug}`."
        )


class UnknownFacility(DomainError):
    code = "unknown_facility"


class InvalidSlug(DomainError):
    code = "invalid_slug"


MAX_SLUG_LENGTH = 64


def create_facility(slug: str, name: str = "", model: ModelVersion | None = None) -> Facility:
    """Create a facility (or return the existing one) and make sure it has an active model:
    `model`, else the bundled default."""
    check_slug(slug)
    with transaction.atomic():
        facility, _ = Facility.objects.get_or_create(slug=slug, defaults={"name": name or slug})
    if model is not None or facility.active_model_id is None:
        provide_model(facility, model)
    return facility


def check_slug(slug: str) -> None:
    """What the API accepts as a facility: letters, digits, hyphens and underscores."""
    try:
        validate_slug(slug)
    except ValidationError:
        raise InvalidSlug(
            f"'{slug}' cannot name a facility: use letters, digits, hyphens and underscores."
        ) from None
    if len(slug) > MAX_SLUG_LENGTH:
        raise InvalidSlug(f"A facility's name is at most {MAX_SLUG_LENGTH} characters.")


def facility_by_slug(slug: str, create: bool) -> Facility:
    """For commands taking `--facility SLUG` (some with `--create-facility`)."""
    if create:
        return create_facility(slug)
    facility = Facility.objects.filter(slug=slug).first()
    if facility is None:
        raise UnknownFacility(
            f"No facility '{slug}' (create it with: manage.py create_facility {slug})."
        )
    return facility


def provide_model(facility: Facility, model: ModelVersion | None = None) -> ModelVersion | None:
    """Activate `model`, else the bundled default model; None when there is neither."""
    model = model or bundled_model()
    if model is not None:
        registry.activate_model(facility, model)
    return model


def require_model(facility: Facility) -> None:
    if facility.active_model_id is None:
        raise NoActiveModel(facility)


def describe(facility: Facility) -> str:
    """One line for a command's output: the facility's model and what its thresholds rest on."""
    model = facility.active_model
    if model is None:
        return (
            f"Facility {facility.slug}: no active model, so its submissions are refused "
            f"(manage.py activate_model --facility {facility.slug} --default)."
        )
    applied = policy_for(facility.pk, model.pk)
    where = f"facility policy v{applied.version}" if applied.version else "set at registration"
    return (
        f"Facility {facility.slug}: model {model} ({len(model.class_names)} classes), "
        f"thresholds {applied.source} ({where})"
        + ("" if applied.calibrated else ": UNCALIBRATED")
        + "."
    )
