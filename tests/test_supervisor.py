"""`make up` keeps the service up: a child that exits is started again after a wait that doubles
with each quick failure, the others keep running, every start and exit is said, and logs are
appended to, never wiped."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from inspection.demo.processes import ProcessGroup
from inspection.demo.supervisor import Supervisor

EXITS = [sys.executable, "-c", "print('up'); raise SystemExit(3)"]
STAYS = [sys.executable, "-c", "import time; time.sleep(60)"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def settle(group: ProcessGroup, name: str) -> None:
    deadline = time.monotonic() + 10
    while group.children[name].poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_child_that_exits_is_restarted_with_doubling_waits_and_the_others_left_alone(
    tmp_path: Path,
) -> None:
    group, clock = ProcessGroup(tmp_path / "logs"), Clock()
    said: list[str] = []
    group.start("flaky", EXITS)
    group.start("steady", STAYS)
    steady = group.children["steady"].pid
    supervisor = Supervisor(group, said.append, clock)
    try:
        restarts_at = []
        for _ in range(4):
            settle(group, "flaky")
            supervisor.check()  # schedules the restart
            started = clock.now
            while "flaky" in supervisor.due:
                clock.now += 0.5
                supervisor.check()
            restarts_at.append(clock.now - started)
        assert restarts_at == [1.0, 2.0, 4.0, 8.0]
        assert group.children["steady"].pid == steady and group.children["steady"].poll() is None
        assert said[0] == "flaky exited with status 3 after 0 s; restarting in 1 s"
        assert said[1] == "restarted flaky (restart 1)"
        assert (tmp_path / "logs" / "flaky.log").read_text().count("up\n") >= 4  # appended
    finally:
        group.stop()


def test_a_child_that_ran_a_while_gets_the_first_wait_again(tmp_path: Path) -> None:
    group, clock = ProcessGroup(tmp_path / "logs"), Clock()
    said: list[str] = []
    group.start("flaky", EXITS)
    supervisor = Supervisor(group, said.append, clock)
    supervisor.waits["flaky"] = 16.0  # it had failed quickly several times before
    try:
        settle(group, "flaky")
        clock.now += 120  # then ran two minutes before this exit
        supervisor.check()
        assert supervisor.due["flaky"] == clock.now + 1.0
    finally:
        group.stop()


def test_a_new_run_appends_to_the_logs(tmp_path: Path) -> None:
    for _ in range(2):
        group = ProcessGroup(tmp_path / "logs")
        group.start("flaky", EXITS)
        settle(group, "flaky")
    log = (tmp_path / "logs" / "flaky.log").read_text()
    assert log.count("--- flaky started") == 2 and log.count("up\n") == 2
