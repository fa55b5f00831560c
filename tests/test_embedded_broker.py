"""The embedded broker publishes each message atomically: a consumer polling the folder never
reads a half-written file (Kombu's stock filesystem transport does, under this same load)."""

from __future__ import annotations

import threading
from pathlib import Path
from queue import Empty
from typing import Any

from kombu import Connection

from config.embedded_broker import Transport

MESSAGES = 200
PADDING = "x" * 200_000  # large enough that a write takes a while


def channel(folder: Path) -> Any:
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder)}
    return Connection(transport=Transport, transport_options=options).default_channel


def consume(folder: Path, received: list[int], errors: list[str]) -> None:
    reader = channel(folder)
    while len(received) + len(errors) < MESSAGES:
        try:
            received.append(reader._get("cpu")["i"])
        except Empty:
            continue
        except Exception as exc:  # a partial file shows up as a decode error
            errors.append(repr(exc))


def test_a_consumer_racing_the_producer_reads_every_message_whole(tmp_path: Path) -> None:
    received: list[int] = []
    errors: list[str] = []
    consumer = threading.Thread(target=consume, args=(tmp_path, received, errors), daemon=True)
    consumer.start()
    writer = channel(tmp_path)
    for i in range(MESSAGES):
        writer._put("cpu", {"i": i, "pad": PADDING})
    consumer.join(timeout=60)
    assert errors == []
    assert sorted(received) == list(range(MESSAGES))
    assert list(tmp_path.iterdir()) == []  # no staging file left behind
