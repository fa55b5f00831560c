"""Hosts as Linux network namespaces joined by a bridge (needs root: `ip netns`, veth, bridge).

Each host has its own network stack (its own loopback, one address on the bridge): a process in
host B reaches host A only at A's bridge address, never through a shared 127.0.0.1. This
machine's own namespace holds the bridge's address, so the client (tests, bench) reaches every
host the same way. Names carry the creating process id, so runs side by side never collide and
what a crashed run left behind (its process is gone) is recognised and removed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass

PREFIX = "imh"
# 10.213.N.0/24: one /24 per run, N chosen among those no interface of this machine uses.
SUBNET_BASE = "10.213"
_OWNED = re.compile(rf"^{PREFIX}(\d+)")


class NetworkError(RuntimeError):
    pass


@dataclass(frozen=True)
class Host:
    name: str
    namespace: str
    ip: str
    # The veth pair: `outer` stays in this machine's namespace on the bridge, `inner` is the
    # host's interface.
    outer: str
    inner: str

    def command(self, *command: str) -> list[str]:
        """`command` run inside the host (ip netns exec replaces itself with it)."""
        return ["ip", "netns", "exec", self.namespace, *command]

    def pids(self) -> list[int]:
        done = _ip_quiet("netns", "pids", self.namespace)
        return [int(pid) for pid in done.split()]

    def kill_all(self, sig: int = signal.SIGKILL) -> list[int]:
        """Signal every process of the host; returns their ids."""
        pids = self.pids()
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        return pids


@dataclass(frozen=True)
class Network:
    run: int
    bridge: str
    gateway: str
    hosts: dict[str, Host]

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]


def build(names: tuple[str, ...]) -> Network:
    """A bridge with this machine at .1 and one namespace per host name at .2, .3, ..."""
    require_root()
    remove_stale()
    run = os.getpid()
    subnet = free_subnet()
    bridge = f"{PREFIX}{run}br"
    network = Network(run, bridge, f"{subnet}.1", {})
    try:
        _ip("link", "add", bridge, "type", "bridge")
        _ip("addr", "add", f"{network.gateway}/24", "dev", bridge)
        _ip("link", "set", bridge, "up")
        for number, name in enumerate(names, start=2):
            network.hosts[name] = _add_host(run, bridge, name, f"{subnet}.{number}")
    except BaseException:
        teardown(network)
        raise
    return network


def _add_host(run: int, bridge: str, name: str, ip: str) -> Host:
    host = Host(name, f"{PREFIX}{run}-{name}", ip, f"{PREFIX}{run}{name}", f"{PREFIX}{run}{name}i")
    _ip("netns", "add", host.namespace)
    _ip("link", "add", host.outer, "type", "veth", "peer", "name", host.inner)
    _ip("link", "set", host.inner, "netns", host.namespace)
    _ip("link", "set", host.outer, "master", bridge)
    _ip("link", "set", host.outer, "up")
    _run(host.command("ip", "addr", "add", f"{ip}/24", "dev", host.inner))
    _run(host.command("ip", "link", "set", host.inner, "up"))
    _run(host.command("ip", "link", "set", "lo", "up"))
    return host


def teardown(network: Network, grace: float = 5.0) -> None:
    """Every process of every host stopped (TERM, then KILL after `grace`), then the namespaces
    and the bridge removed (a namespace's veth goes with it)."""
    hosts = list(network.hosts.values())
    for host in hosts:
        host.kill_all(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(host.pids() for host in hosts) and time.monotonic() < deadline:
        time.sleep(0.2)
    for host in hosts:
        host.kill_all(signal.SIGKILL)
        # Deleting a namespace frees its veth only later (the kernel cleans up asynchronously):
        # the pair goes now, with its outer end.
        _ip_quiet("link", "del", host.outer)
        _remove_namespace(host.namespace)
    _ip_quiet("link", "del", network.bridge)


def remove_stale() -> list[str]:
    """Namespaces and links of earlier runs whose process is gone (a crash, a kill -9)."""
    removed = []
    for namespace in _ip_quiet("netns", "list").split("\n"):
        name = namespace.split(" ")[0]
        if _orphaned(name):
            for pid in _ip_quiet("netns", "pids", name).split():
                _kill(int(pid))
            _remove_namespace(name)
            removed.append(name)
    for line in _ip_quiet("-o", "link", "show").splitlines():
        link = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
        if _orphaned(link):
            _ip_quiet("link", "del", link)
            removed.append(link)
    return removed


def free_subnet() -> str:
    used = _ip("-4", "-o", "addr", "show")
    for third in range(1, 255):
        subnet = f"{SUBNET_BASE}.{third}"
        if f" {subnet}." not in used:
            return subnet
    raise NetworkError(f"no free {SUBNET_BASE}.N.0/24 left")


def require_root() -> None:
    if os.geteuid() != 0:
        raise NetworkError("building hosts as network namespaces needs root (ip netns)")


def _orphaned(name: str) -> bool:
    match = _OWNED.match(name)
    return match is not None and not _alive(int(match.group(1)))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _remove_namespace(name: str) -> None:
    # A namespace whose last process is just dying can be busy for a moment.
    for _ in range(20):
        _ip_quiet("netns", "del", name)
        if name not in _ip_quiet("netns", "list").split():
            return
        time.sleep(0.1)


def _ip(*args: str) -> str:
    return _run(["ip", *args])


def _ip_quiet(*args: str) -> str:
    """`ip ARGS`' output, or "" when it failed (a thing already gone)."""
    try:
        return _ip(*args)
    except NetworkError:
        return ""


def _run(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode:
        raise NetworkError(f"{' '.join(command)}: {done.stderr.strip()}")
    return done.stdout
