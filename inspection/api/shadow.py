"""REST API v1: a facility's shadow model against its active model (inspection.learning.shadow):
per class, agreement between the two and each one's precision and recall against human verdicts
with bounds; and, on the same path, the two changes it leads to, promote and roll back
(inspection.services.shadow), each recorded with the key that made it."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inspection import selectors
from inspection.api.auth import caller_facilities, caller_key
from inspection.api.facilities import NOT_FOUND, SLUG
from inspection.api.schema import error
from inspection.api.views import Documented, valid_input
from inspection.learning.shadow import comparison, last_promotion
from inspection.models import Facility
from inspection.services import shadow

REFUSED = error(
    "`shadow_refused`: the facility's models do not allow it (no shadow to promote, no "
    "calibrated thresholds for it, no promotion to roll back); `detail` says which."
)


class ShareOutput(serializers.Serializer):
    hits = serializers.IntegerField()
    n = serializers.IntegerField()
    value = serializers.FloatField(allow_null=True, help_text="hits / n; null when n is 0.")
    lower = serializers.FloatField(help_text="One-sided 95 % Clopper-Pearson lower bound.")
    upper = serializers.FloatField(help_text="One-sided 95 % Clopper-Pearson upper bound.")


class ModelScoreOutput(serializers.Serializer):
    precision = ShareOutput(help_text="Its boxes a person kept (IoU >= 0.5, same class).")
    recall = ShareOutput(help_text="The person's boxes it found.")


class ClassComparisonOutput(serializers.Serializer):
    class_name = serializers.CharField()
    active_boxes = serializers.IntegerField()
    shadow_boxes = serializers.IntegerField()
    agreed = ShareOutput(help_text="Active boxes the shadow also found.")
    shadow_agreed = ShareOutput(help_text="Shadow boxes the active model also found.")
    human_boxes = serializers.IntegerField(help_text="Boxes people drew on the judged images.")
    active = ModelScoreOutput()
    shadow = ModelScoreOutput()


class ShadowOutput(serializers.Serializer):
    facility = serializers.CharField()
    active_model = serializers.CharField(allow_null=True, help_text="`name:version`.")
    shadow_model = serializers.CharField(allow_null=True, help_text="null: no shadow now.")
    min_confidence = serializers.FloatField(
        allow_null=True, help_text="The cut-off both models' boxes are taken at."
    )
    images = serializers.IntegerField(help_text="Images both models ran on.")
    judged_images = serializers.IntegerField(help_text="Of which a person decided.")
    classes = ClassComparisonOutput(many=True)
    can_roll_back = serializers.BooleanField(help_text="The last promotion can be rolled back.")


class ModelChangeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField()
    facility = serializers.CharField(source="facility.slug")
    model = serializers.CharField(source="model_version", allow_null=True)
    previous_model = serializers.CharField(allow_null=True)
    policy_version = serializers.IntegerField(source="policy.version", allow_null=True)
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()


def _facility(request: Request, slug: str) -> Facility:
    return selectors.facility_for(caller_facilities(request), slug)


def _author(request: Request) -> str:
    key = caller_key(request)
    return f"api key {key.name} ({key.prefix})"


class ShadowActionInput(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=["promote", "rollback"],
        help_text="`promote`: the shadow becomes the active model with its calibrated thresholds "
        "(a new policy version); the model and thresholds it replaces are kept. `rollback`: the "
        "last promotion is undone (the previous model, its thresholds as a new policy version).",
    )


ACTIONS = {"promote": shadow.promote, "rollback": shadow.roll_back}


class ShadowView(Documented, APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="shadow_retrieve",
        parameters=[SLUG],
        responses={200: ShadowOutput, 404: NOT_FOUND},
    )
    def get(self, request: Request, slug: str) -> Response:
        """The facility's shadow model against its active model, per class."""
        facility = _facility(request, slug)
        return Response(ShadowOutput(body(facility)).data)

    @extend_schema(
        operation_id="shadow_change",
        parameters=[SLUG],
        request=ShadowActionInput,
        responses={
            201: ModelChangeOutput,
            400: error("`invalid`: no `action`, or not `promote` or `rollback`."),
            404: NOT_FOUND,
            409: REFUSED,
            415: error("`unsupported_media_type`: the body is not JSON."),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        """Promote the facility's shadow model, or roll the last promotion back; recorded with
        the key that did it."""
        facility = _facility(request, slug)  # another facility's is a 404, whatever the body
        change = ACTIONS[valid_input(ShadowActionInput, request.data)["action"]]
        made = change(facility, by=_author(request))
        return Response(ModelChangeOutput(made).data, status=status.HTTP_201_CREATED)


def body(facility: Facility) -> dict[str, Any]:
    found = comparison(facility)
    return {
        "facility": facility.slug,
        "active_model": str(facility.active_model) if facility.active_model else None,
        "shadow_model": str(facility.shadow_model) if facility.shadow_model else None,
        "min_confidence": found.min_confidence if found else None,
        "images": found.images if found else 0,
        "judged_images": found.judged_images if found else 0,
        "classes": found.classes if found else [],
        "can_roll_back": last_promotion(facility) is not None,
    }
