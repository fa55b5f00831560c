"""Content-Security-Policy on every response (pages, the admin, Swagger UI, the API). Scripts
and styles come only from this site: the pages have no inline script or style, the libraries are
vendored (no CDN), and Swagger UI loads its start-up script as a file (SpectacularSwaggerSplitView).
The one inline block allowed is drf-spectacular's three-line page style for Swagger UI, by its
hash (the browser test of the policy fails if an upgrade changes it). Images may also be `data:`
(the favicon, Swagger UI's icons) and `blob:`. Nothing may frame the site, and forms post only
to it."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

# sha256 of the <style> block in drf_spectacular/templates/drf_spectacular/swagger_ui.html.
SWAGGER_UI_STYLE = "'sha256-MMpT0iDxyjALd9PdfepImGX3DBfJPXZ4IlDWdPAgtn0='"
POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        f"style-src 'self' {SWAGGER_UI_STYLE}",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADER = "Content-Security-Policy"


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault(HEADER, POLICY)
        return response
