"""Run a simulator on loopback in a background thread, and talk to its admin API.

with running(SsfwSimulator(seeded_students(0))) as sim:
    sim.admin.publish_grade(sim.username, Grade(...))
    adapter = SsfwAdapter(sim.base_url)
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import httpx
import uvicorn
from starlette.types import ASGIApp

from gradewatch.grades import Grade
from gradewatch.sim.base import Simulator


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening-ready TCP socket; port 0 lets the OS choose. Raises OSError (e.g. port in use)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this; without it a socket handed to uvicorn stalls ~40 ms per
        # keep-alive request (Nagle against delayed ACKs), which makes every test crawl.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextmanager
def serve(app: ASGIApp, host: str = "127.0.0.1", port: int = 0, *, start_timeout: float = 10.0) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a daemon thread; yields the base URL, stops cleanly on exit."""
    sock = bind(host, port)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="gradewatch-sim", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + start_timeout
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the simulator server stopped while starting")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the simulator server did not start within {start_timeout:g} s")
            time.sleep(0.01)
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


class SimAdmin:
    """Client of a simulator's admin API (see :mod:`gradewatch.sim.admin`). Errors raise httpx.HTTPStatusError."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/_admin",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self._http.request(method, path, **kwargs)
        resp.raise_for_status()
        return resp.json()

    def publish_grade(self, username: str, grade: Grade | Mapping[str, Any]) -> str:
        """Add a grade, or replace the one with the same key. Returns the key."""
        data = asdict(grade) if isinstance(grade, Grade) else dict(grade)
        return str(self._call("POST", "/grades", json={"username": username, "grade": data})["key"])

    def set_grades(self, username: str, grades: Iterable[Grade | Mapping[str, Any]]) -> None:
        """Replace the whole transcript (an empty list leaves the student without grades)."""
        data = [asdict(g) if isinstance(g, Grade) else dict(g) for g in grades]
        self._call("PUT", "/grades", json={"username": username, "grades": data})

    def grades(self, username: str) -> list[Grade]:
        return [Grade.from_dict(g) for g in self._call("GET", "/grades", params={"username": username})["grades"]]

    def add_student(self, username: str, password: str, name: str = "", grades: Iterable[Grade] = ()) -> None:
        self._call(
            "POST",
            "/students",
            json={"username": username, "password": password, "name": name, "grades": [asdict(g) for g in grades]},
        )

    def stats(self, username: str | None = None) -> dict[str, Any]:
        """All stats, or one student's (login_posts, outcomes, consecutive_wrong_passwords, locked …)."""
        params = {"username": username} if username is not None else {}
        result: dict[str, Any] = self._call("GET", "/stats", params=params)
        return result

    def control(self, **changes: Any) -> dict[str, Any]:
        """Set any of session_ttl, reject_captcha, broken_grades, down. Returns all controls."""
        result: dict[str, Any] = self._call("POST", "/control", json=changes)
        return result

    def expire_sessions(self, username: str | None = None) -> int:
        body = {"username": username} if username is not None else {}
        return int(self._call("POST", "/expire_sessions", json=body)["expired"])

    def unlock(self, username: str) -> None:
        self._call("POST", "/unlock", json={"username": username})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SimAdmin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class RunningSim:
    """A simulator serving on loopback: where it is, its admin client and the demo login."""

    base_url: str
    admin: SimAdmin
    username: str
    password: str
    sim: Simulator


@contextmanager
def running(sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> Iterator[RunningSim]:
    if sim.demo is None:
        raise ValueError("the simulator has no students")
    with serve(sim.app(), host, port) as base_url, SimAdmin(base_url, sim.admin_token) as admin:
        yield RunningSim(base_url, admin, sim.demo.username, sim.demo.password, sim)
