"""REST API v1: the measured precision of a facility's auto-accepted boxes, from audits
(inspection.learning.report): per model version and class, the bound, the audits still needed,
and the threshold Learn then Test recommends with the review share it would cause. Read-only:
applying a recommendation is a threshold change (PUT .../thresholds/)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inspection import selectors
from inspection.api.auth import caller_facilities
from inspection.api.facilities import NOT_FOUND, SLUG
from inspection.api.views import Documented
from inspection.learning.report import ClassReport, precision_report
from inspection.models import Facility


class StepOutput(serializers.Serializer):
    threshold = serializers.FloatField()
    n = serializers.IntegerField(help_text="Audited boxes at or above the threshold.")
    false_positives = serializers.IntegerField(
        source="errors", help_text="Of which the reviewer found wrong."
    )
    p_value = serializers.FloatField()
    certified = serializers.BooleanField()


class ReviewShareOutput(serializers.Serializer):
    images = serializers.IntegerField(help_text="The model's images finished in the last 7 days.")
    now = serializers.FloatField(help_text="Share this class sends to review now.")
    recommended = serializers.FloatField(
        allow_null=True, help_text="Share it would send at the recommended threshold."
    )


class RecommendationOutput(serializers.Serializer):
    threshold = serializers.FloatField(
        allow_null=True, help_text="The lowest certified candidate; null: none certified."
    )
    delta = serializers.FloatField(help_text="This class's share of the 5 % family-wise risk.")
    steps = StepOutput(many=True, help_text="The tests made, strictest first.")


class ClassPrecisionOutput(serializers.Serializer):
    model = serializers.CharField(help_text="`name:version`.")
    class_name = serializers.CharField()
    threshold = serializers.FloatField(help_text="The class's threshold now.")
    target = serializers.FloatField(help_text="The precision its thresholds promise.")
    audited_images = serializers.IntegerField(help_text="Audited images of this model.")
    boxes = serializers.IntegerField(help_text="Auto-accepted boxes of the class audited.")
    correct = serializers.IntegerField()
    precision = serializers.FloatField(allow_null=True)
    lower_bound = serializers.FloatField(help_text="One-sided 95 % Clopper-Pearson bound.")
    certified = serializers.BooleanField(help_text="The bound reaches the target.")
    further_audits = serializers.IntegerField(
        allow_null=True,
        help_text="Boxes still to audit to certify, if the observed precision held; null: never.",
    )
    further_audited_images = serializers.IntegerField(
        allow_null=True,
        help_text="The audited images those boxes take, at the rate the class has come with "
        "audited images; null: never, or the class not seen in an audit yet.",
    )
    recommended = RecommendationOutput()
    review = ReviewShareOutput()


class PrecisionOutput(serializers.Serializer):
    facility = serializers.CharField()
    classes = ClassPrecisionOutput(many=True)


class PrecisionView(Documented, APIView):
    @extend_schema(
        operation_id="precision_retrieve",
        parameters=[SLUG],
        responses={200: PrecisionOutput, 404: NOT_FOUND},
    )
    def get(self, request: Request, slug: str) -> Response:
        """Measured precision of the facility's auto-accepted boxes, from audits."""
        facility = selectors.facility_for(caller_facilities(request), slug)
        rows = precision_report(Facility.objects.filter(pk=facility.pk))
        return Response(PrecisionOutput(_body(facility, rows)).data)


def _body(facility: Facility, rows: list[ClassReport]) -> dict[str, object]:
    return {"facility": facility.slug, "classes": rows}
