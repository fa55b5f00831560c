"""What the preprocess stage keeps of an image whatever its fate: a failed image still reports
the size and format read before it failed, a broken file gets its own reason even on a facility
without a model, and a multi-frame upload is flagged (or refused, by setting)."""

from __future__ import annotations

from typing import Any

import pytest

from inspection.models import Facility, Image
from inspection.pipeline.preprocess import preprocess_image
from tests import images
from tests.workers import add_image, empty_batch, reload

pytestmark = pytest.mark.django_db
Status = Image.Status


def preprocessed(facility: Facility, data: bytes, name: str = "upload") -> Image:
    image = add_image(empty_batch(facility), data, name)
    preprocess_image(image.pk)
    return reload(image)


@pytest.mark.usefixtures("dev_model", "media_root")
def test_a_failed_image_keeps_the_size_and_format_read_before_it_failed(
    facility: Facility,
) -> None:
    image = preprocessed(facility, images.black_photo_jpeg(), "black.jpg")
    assert (image.status, image.reason) == (Status.FAILED, "too_dark")
    assert (image.width, image.height, image.format) == (640, 480, "JPEG")


@pytest.mark.usefixtures("dev_model", "media_root")
def test_a_file_refused_at_the_header_keeps_what_was_read(
    facility: Facility, settings: Any
) -> None:
    settings.MIN_IMAGE_SIDE = 500
    image = preprocessed(facility, images.photo_png(640, 480), "small.png")
    assert (image.status, image.reason) == (Status.FAILED, "too_small")
    assert (image.width, image.height, image.format) == (640, 480, "PNG")


@pytest.mark.usefixtures("media_root")
@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (images.corrupt_jpeg(), "corrupt"),
        (images.truncated_jpeg(), "truncated"),
        (b"", "empty_file"),
    ],
)
def test_a_broken_file_gets_its_own_reason_even_without_a_model(
    bare_facility: Facility, data: bytes, reason: str
) -> None:
    assert preprocessed(bare_facility, data).reason == reason


@pytest.mark.usefixtures("media_root")
def test_a_good_file_without_a_model_fails_no_active_model_with_its_size(
    bare_facility: Facility,
) -> None:
    image = preprocessed(bare_facility, images.photo_jpeg(800, 600))
    assert (image.status, image.reason) == (Status.FAILED, "no_active_model")
    assert (image.width, image.height) == (800, 600)


@pytest.mark.usefixtures("dev_model", "media_root")
def test_a_multi_frame_upload_is_processed_on_its_first_frame_and_flagged(
    facility: Facility,
) -> None:
    image = preprocessed(facility, images.animated_gif(3), "anim.gif")
    assert (image.status, image.multi_frame, image.format) == (Status.PREPROCESSED, True, "GIF")
    single = preprocessed(facility, images.photo_jpeg(640, 480))
    assert single.multi_frame is False


@pytest.mark.usefixtures("dev_model", "media_root")
def test_multi_frame_uploads_are_refused_by_setting(facility: Facility, settings: Any) -> None:
    settings.REFUSE_MULTI_FRAME_IMAGES = True
    image = preprocessed(facility, images.multi_frame_image("TIFF", 3), "pages.tif")
    assert (image.status, image.reason, image.multi_frame) == (Status.FAILED, "multi_frame", True)
    assert (image.width, image.height, image.format) == (128, 96, "TIFF")
