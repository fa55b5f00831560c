"""A real HTTP receiver for webhook tests: `ThreadingHTTPServer` on 127.0.0.1 (a free port),
recording each request and answering with programmed status codes (200 once the program runs
out; a `None` entry answers late, past the client's read timeout). Bounded: it keeps at most
MAX_REQUESTS requests of at most MAX_BODY bytes, and shuts itself down after LIFETIME seconds
if the test does not stop it first."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_REQUESTS = 100
MAX_BODY = 64 * 1024
LIFETIME = 60.0
LATE_SECONDS = 1.5


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answers: Iterable[int | None]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers: deque[int | None] = deque(answers)
        self.requests: list[Received] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/inspection"

    def next_answer(self, received: Received) -> int | None:
        with self.lock:
            if len(self.requests) < MAX_REQUESTS:
                self.requests.append(received)
            return self.answers.popleft() if self.answers else 200

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up on a late answer is expected, not news

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.requests)


class _Handler(BaseHTTPRequestHandler):
    server: Receiver
    timeout = 5

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
        body = self.rfile.read(length)
        answer = self.server.next_answer(Received(self.path, dict(self.headers.items()), body))
        if answer is None:
            time.sleep(LATE_SECONDS)
            answer = 200
        self.send_response(answer)
        self.send_header("Content-Length", "0")
        if 300 <= answer < 400:
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_address[1]}/moved")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def receiver(*answers: int | None) -> Iterator[Receiver]:
    server = Receiver(answers)
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    serving.daemon = True
    serving.start()
    deadline = threading.Timer(LIFETIME, server.shutdown)
    deadline.daemon = True
    deadline.start()
    try:
        yield server
    finally:
        deadline.cancel()
        server.shutdown()
        server.server_close()
        serving.join(5)
