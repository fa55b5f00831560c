"""Showing a webhook URL without its credentials. Integrators may put a user name and password
in the URL (https://user:secret@host/hook); delivery needs them, but every answer, page, command
output and log line shows the URL masked (https://***@host/hook)."""

from __future__ import annotations

import re

# Scheme, then the userinfo: everything of the authority (which ends at the first / ? or #) up
# to its last @ (a password may itself hold an @).
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")


def masked_url(url: str) -> str:
    """The URL with its user name and password, if any, replaced by ***."""
    return _USERINFO.sub(r"\1***@", url, count=1)
