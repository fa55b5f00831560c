"""The overload limit cannot be overshot by submissions that arrive together: they are admitted
one at a time under a lock held until their rows commit."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from inspection.models import Facility, Image
from inspection.services.submission import Overloaded, SubmissionRequest, submit_batch
from tests import images

SUBMISSIONS, PER_SUBMISSION, LIMIT = 8, 2, 6


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_never_pass_the_pending_limit(
    facility: Facility, settings: Any, media_root: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.MAX_PENDING_IMAGES = LIMIT
    monkeypatch.setattr("inspection.pipeline.enqueue.send_now", lambda *a, **k: None)
    start = threading.Barrier(SUBMISSIONS)
    outcomes: list[str] = []

    def submit(index: int) -> None:
        files = [
            SimpleUploadedFile(f"{index}-{n}.jpg", images.photo_jpeg(64, 48, seed=index * 10 + n))
            for n in range(PER_SUBMISSION)
        ]
        start.wait()
        try:
            submit_batch(SubmissionRequest(facility=facility, files=files))
            outcomes.append("accepted")
        except Overloaded:
            outcomes.append("overloaded")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(SUBMISSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["accepted"] * 3 + ["overloaded"] * 5
    assert Image.objects.count() == LIMIT
