"""`manage.py revoke_api_key`: a revoked key is refused by the API and its webhooks stop; running
it again changes nothing; a key it cannot find is one line of error."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from inspection.models import ApiKey, Facility
from inspection.webhooks import delivery as webhooks
from inspection.webhooks.delivery import Verdict
from tests.api_support import BATCHES_URL
from tests.conftest import make_api_key
from tests.webhook_receiver import Receiver
from tests.webhook_support import Sent, completed_delivery

pytestmark = pytest.mark.django_db


def revoke(*args: str) -> list[str]:
    out = StringIO()
    call_command("revoke_api_key", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def row(raw: str) -> ApiKey:
    return ApiKey.objects.get(prefix=raw.split(".", 1)[0])


def status_with(raw: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return int(client.get(BATCHES_URL).status_code)


def test_a_revoked_key_is_refused(facility: Facility) -> None:
    raw, other = make_api_key(facility), make_api_key(facility, name="other")
    [line] = revoke("--prefix", row(raw).prefix)
    assert line.startswith(f"Revoked API key integrator ({row(raw).prefix}")
    assert (status_with(raw), status_with(other)) == (401, 200)


def test_revoking_again_changes_nothing(facility: Facility) -> None:
    raw = make_api_key(facility)
    revoke("--prefix", row(raw).prefix)
    first = row(raw).revoked_at
    [line] = revoke("--prefix", row(raw).prefix)
    assert "was already revoked" in line and "nothing changed" in line
    assert row(raw).revoked_at == first


def test_the_whole_key_names_its_prefix(facility: Facility) -> None:
    raw = make_api_key(facility)
    revoke("--prefix", raw)
    assert row(raw).revoked_at is not None


def test_by_name_every_key_of_that_name_is_revoked(facility: Facility) -> None:
    keys = [make_api_key(facility, name="scanner"), make_api_key(facility, name="scanner")]
    kept = make_api_key(facility, name="scanner-2")
    assert len(revoke("--name", "scanner")) == 2
    assert [status_with(raw) for raw in [*keys, kept]] == [401, 401, 200]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prefix", "00000000"], "No API key with prefix '00000000'."),
        (["--name", "nobody"], "No API key named 'nobody'."),
    ],
)
def test_an_unknown_key_is_one_line_of_error(
    facility: Facility, args: list[str], message: str
) -> None:
    make_api_key(facility)
    with pytest.raises(CommandError) as raised:
        revoke(*args)
    assert str(raised.value) == message


def test_the_webhooks_of_a_revoked_key_stop(
    facility: Facility, key: ApiKey, hook: Receiver, sent: Sent, loopback_allowed: None
) -> None:
    pending = completed_delivery(key, facility)  # created, its first attempt not yet made
    revoke("--prefix", key.prefix)
    assert webhooks.deliver(pending.pk) is Verdict.FAILED
    assert hook.requests == []
