"""The reviewer who knows the truth: decides a task through the review UI's own `decide()`
(so the verdict and decision rows are the real ones), keeping each model box that matches a
true box of its class, deleting the others and drawing the true boxes the model missed."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import User
from django.utils import timezone

from inspection.models import Facility, FacilityMembership, Image, ReviewDecision, ReviewTask
from inspection.review.boxes import Box
from inspection.review.decisions import DecisionRefused, DecisionRequest, decide
from inspection.review.verdicts import model_boxes
from lab.field_loop.field import TrueBox
from lab.field_loop.matching import match_truth

REVIEWER = "field-truth-reviewer"
CLAIM_SECONDS = 300


def truth_reviewer(facility: Facility) -> User:
    """A plain user with the reviewer role at the facility (no password: it cannot sign in)."""
    user, created = User.objects.get_or_create(username=REVIEWER)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    FacilityMembership.objects.get_or_create(
        user=user, facility=facility, defaults={"role": FacilityMembership.Role.REVIEWER}
    )
    return user


def answer(model: Sequence[Box], truths: Sequence[TrueBox], class_names: list[str]) -> list[Box]:
    """The boxes a reviewer who sees the truth leaves on the image."""
    matched = match_truth(model, truths)
    kept = [box for box, hit in zip(model, matched.hits, strict=True) if hit]
    return kept + [_drawn(t, class_names) for t in matched.missed]


def _drawn(truth: TrueBox, class_names: list[str]) -> Box:
    if truth.class_name not in class_names:
        raise ValueError(f"The model has no class {truth.class_name!r} to draw.")
    index = class_names.index(truth.class_name)
    return Box(index, truth.class_name, truth.x1, truth.y1, truth.x2, truth.y2)


def decide_from_truth(task: ReviewTask, user: User, truths: Sequence[TrueBox]) -> ReviewDecision:
    image = Image.objects.select_related("model_version").get(pk=task.image_id)
    names = list(image.model_version.class_names) if image.model_version else []
    model = model_boxes(image)
    final = answer(model, truths, names)
    unchanged = sorted(b.key() for b in final) == sorted(b.key() for b in model)
    if not task.claim(user, timezone.now(), CLAIM_SECONDS):
        raise DecisionRefused(f"Task {task.pk} is held by someone else.")
    request = DecisionRequest(Image.Verdict.ACCEPTED, None if unchanged else final)
    return decide(task, user, request)
