"""The failed images page in a real browser: a facility admin signs in, finds a failed image
with its reason, presses its Replay button, is asked first (cancelling leaves it failed), and
once confirmed the image is queued again and the replay recorded with the admin's name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis
from playwright.sync_api import Dialog

from inspection.models import Facility, Image, ReplayRequest
from tests.dead_letter_support import completed_batch, failed_image
from tests.review_browser_support import browser_page, on_database, sign_in
from tests.review_support import make_member

pytestmark = [pytest.mark.browser]
Status = Image.Status


@pytest.mark.django_db(transaction=True)
def test_an_admin_replays_a_failed_image_from_the_page(
    live_server: Any, facility: Facility, media_root: Path, redis_queues: redis.Redis
) -> None:
    batch = completed_batch(facility, "dock-3")
    crash = failed_image(batch, "inference_error", "RuntimeError('boom')")
    other = failed_image(batch, "inference_error", "RuntimeError('bang')")
    make_member("ada", facility, "admin")
    questions: list[str] = []

    def answer(accept: bool) -> Any:
        def handle(dialog: Dialog) -> None:
            questions.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return handle

    with browser_page() as page:
        sign_in(page, live_server.url, "ada")
        page.click("nav >> text=Failed")
        row = page.locator(f"tr[data-image='{crash.pk}']")
        assert "RuntimeError('boom')" in row.inner_text()
        assert page.locator("tr[data-reason=inference_error] td").nth(1).inner_text() == "2"
        page.once("dialog", answer(False))
        row.locator("button[name=image]").click()
        assert questions == ["Replay this image?"]
        assert on_database(lambda: Image.objects.get(pk=crash.pk).status) == Status.FAILED
        page.once("dialog", answer(True))
        row.locator("button[name=image]").click()
        page.wait_for_selector("text=1 image(s) queued again.")
        assert page.locator(f"tr[data-image='{crash.pk}']").count() == 0
        assert page.locator("tr[data-reason=inference_error] td").nth(1).inner_text() == "1"

    def state() -> tuple[str, str, str, int]:
        request = ReplayRequest.objects.get()
        image = Image.objects.get(pk=crash.pk)
        return image.status, Image.objects.get(pk=other.pk).status, request.author, request.replayed

    assert on_database(state) == (Status.QUEUED, Status.FAILED, "failed images page ada", 1)
