"""Keeping `make up`'s processes up: a child that exits is started again after a wait that
doubles with each quick failure (1 s, 2 s, 4 s ... 30 s; back to 1 s once it has run a minute),
the others keep running, and every start and exit is said on the console (and in the child's
appended log). Ctrl-C or SIGTERM stops everything."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from inspection.demo.processes import ProcessGroup, interrupt

FIRST_WAIT_SECONDS = 1.0
LONGEST_WAIT_SECONDS = 30.0
# A child that ran this long before exiting gets the first wait again, not a longer one.
HEALTHY_SECONDS = 60.0
POLL_SECONDS = 0.5


@dataclass
class Supervisor:
    group: ProcessGroup
    say: Callable[[str], None]
    clock: Callable[[], float] = time.monotonic
    started: dict[str, float] = field(default_factory=dict)
    waits: dict[str, float] = field(default_factory=dict)
    due: dict[str, float] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        now = self.clock()
        self.started = dict.fromkeys(self.group.children, now)

    def check(self) -> None:
        """Schedule a restart for each child that exited; start those whose wait is over."""
        now = self.clock()
        for name in self.group.dead():
            if name not in self.due:
                self._schedule(name, now)
        for name, when in list(self.due.items()):
            if now >= when:
                del self.due[name]
                self.group.restart(name)
                self.started[name] = now
                self.restarts[name] = self.restarts.get(name, 0) + 1
                self.say(f"restarted {name} (restart {self.restarts[name]})")

    def _schedule(self, name: str, now: float) -> None:
        ran = now - self.started.get(name, now)
        wait = self.waits.get(name, FIRST_WAIT_SECONDS)
        wait = FIRST_WAIT_SECONDS if ran >= HEALTHY_SECONDS else wait
        code = self.group.children[name].returncode
        self.say(f"{name} exited with status {code} after {ran:.0f} s; restarting in {wait:.0f} s")
        self.due[name] = now + wait
        self.waits[name] = min(wait * 2, LONGEST_WAIT_SECONDS)


def supervise(group: ProcessGroup, say: Callable[[str], None]) -> None:
    """Until Ctrl-C or SIGTERM."""
    signal.signal(signal.SIGTERM, interrupt)
    supervisor = Supervisor(group, say)
    try:
        while True:
            supervisor.check()
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        return
