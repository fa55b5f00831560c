"""Kombu's filesystem transport with atomic message files, for the embedded (no-server) mode.

The stock transport creates a message file and then writes it; a consumer polling the folder can
move and read the file in between, get an empty payload and crash its worker on the JSON decode
(kombu issue #1551, seen here in benchmark runs). Writing under a staging name and renaming into
place makes a message appear whole or not at all.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.transport import filesystem
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    # The signature of filesystem.Channel._put, which kombu-stubs declares differently from its
    # base (payload vs message): whichever name, one of the two stub signatures disagrees.
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        # A leading dot keeps the staging file out of every queue's name match.
        staging = os.path.join(self.data_folder_out, f".{name}.part")
        with open(staging, "wb") as handle:
            handle.write(dumps(payload).encode())
        os.replace(staging, os.path.join(self.data_folder_out, name))


class Transport(filesystem.Transport):
    Channel = Channel
