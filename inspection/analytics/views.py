"""The analytics page: session login, scoped to the user's facilities. The page is the frame
(filters, a card per chart, CSV links); each chart's numbers come from its endpoint under
/api/v1/analytics/, which the page's script calls with the user's session."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from inspection.analytics.charts import CHARTS
from inspection.analytics.forms import FilterForm
from inspection.analytics.selectors import camera_names
from inspection.review.access import facilities_of


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    facilities = list(facilities_of(request.user).order_by("slug"))
    wanted = request.GET.get("facility", "")
    if wanted and wanted not in {facility.slug for facility in facilities}:
        raise Http404("no such facility")
    form = FilterForm(request.GET or None, facilities, camera_names(facilities))
    query = urlencode(form.api_query())
    charts = [
        {
            "name": chart.name,
            "heading": chart.heading,
            "summary": chart.summary,
            "url": f"{reverse(f'api:analytics-{chart.path}')}?{query}",
        }
        for chart in CHARTS
    ]
    context = {"form": form, "facilities": facilities, "charts": charts}
    return render(request, "analytics/dashboard.html", context)
