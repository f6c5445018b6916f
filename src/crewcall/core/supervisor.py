"""Child processes for `crewcall serve`: start them, watch them, stop them.

Children run `python -m crewcall <command>` with the parent's environment. On Linux
each child asks the kernel for SIGTERM when its parent dies (PR_SET_PDEATHSIG), so a
serve process that is killed outright does not leave a web server holding its port.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

PR_SET_PDEATHSIG = 1


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]

    @property
    def running(self) -> bool:
        return self.process.poll() is None


def _die_with_parent() -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before fork, not in the child

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


@dataclass
class Supervisor:
    children: list[Child] = field(default_factory=list)

    def start(self, name: str, args: Sequence[str]) -> Child:
        argv = [sys.executable, "-m", "crewcall", *args]
        # argv is built here from our own interpreter and fixed command names.
        process = subprocess.Popen(argv, preexec_fn=_die_with_parent())  # noqa: S603
        child = Child(name=name, process=process)
        self.children.append(child)
        return child

    def first_exited(self) -> Child | None:
        return next((child for child in self.children if not child.running), None)

    def stop_all(self, *, timeout: float) -> None:
        """SIGTERM every running child, wait up to `timeout` seconds, then SIGKILL."""
        for child in self.children:
            if child.running:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in self.children:
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()


_no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def answers(url: str, *, timeout: float = 1.0) -> bool:
    """True when `url` answers 200; proxies from the environment are bypassed."""
    try:
        with _no_proxy.open(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False
