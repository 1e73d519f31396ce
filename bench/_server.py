"""The Autotask sandbox in its own process, for the benchmark.

``python -m bench._server DB`` serves the sandbox over the SQLite file ``DB`` on a free loopback
port and prints the port (the emulators' keep-alive server). It runs apart from billsync so the sandbox's CPU time and memory are
never counted as billsync's. Two benchmark-only endpoints sit beside the REST API:

- ``GET /_bench/stats``: the sandbox's request counters (per endpoint and kind, with the peak in
  flight) plus the number of objects each endpoint's queries returned;
- ``POST /_bench/reset``: zero both.

``python -m bench._server DB --latency R --write-latency W`` holds each read R seconds and each write
W seconds, as a real Autotask takes (the latency profile; :class:`~providers.autotask.sandbox.Pace`).
The hourly budget is lifted (the benchmark reports what the writes would take at Autotask's
10,000 an hour instead); the thread limit of 3 in flight per endpoint stays.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from providers._shared.emulation import LoopbackServer, start_in_background
from providers.autotask.sandbox import Pace, SandboxApp, SandboxConfig, make_app

BENCH_HOURLY_LIMIT = 100_000_000
"""Lifted so an apply of 40,000 writes runs through; Autotask's 10,000 is applied in the report."""


def without_fsync(app: SandboxApp) -> None:
    """Let the sandbox commit without waiting for the disk: its fsyncs are not billsync's time."""
    app.store.connection.execute("PRAGMA synchronous = OFF")


class CountingApp:
    """Wraps the sandbox app: counts the objects every query page returns, per endpoint."""

    def __init__(self, app: SandboxApp) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._objects: dict[str, int] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith("/_bench/"):
            return self._control(environ, path, start_response)
        body = b"".join(self.app(environ, start_response))
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 4 and parts[3].lower() == "query" and (len(parts) == 4 or parts[4] == "next"):
            self._count(parts[2], body)
        return [body]

    def _count(self, endpoint: str, body: bytes) -> None:
        at = body.rfind(b'"pageDetails":')
        if at < 0:
            return
        details = json.loads(body[at + len(b'"pageDetails":') : -1])
        with self._lock:
            self._objects[endpoint] = self._objects.get(endpoint, 0) + int(details["count"])

    def _control(self, environ: dict[str, Any], path: str, start_response: Any) -> Iterable[bytes]:
        if path == "/_bench/reset" and environ["REQUEST_METHOD"] == "POST":
            self.app.reset_stats()
            with self._lock:
                self._objects.clear()
        stats = self.app.stats().model_dump()
        with self._lock:
            stats["objects_read"] = dict(sorted(self._objects.items()))
        payload = json.dumps(stats).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        )
        return [payload]


class SandboxProcess:
    """``python -m bench._server DB`` as a context manager: start, read counters, reset, stop."""

    def __init__(self, db: Path, pace: Pace | None = None) -> None:
        self.db = db
        pacing = pace or Pace()
        write = pacing.latency if pacing.write_latency is None else pacing.write_latency
        options = ["--latency", str(pacing.latency), "--write-latency", str(write)]
        root = Path(__file__).resolve().parents[1]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
        }
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench._server", str(db), *options],
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError(f"the sandbox did not start (said {line!r})")
        self.port = int(line)
        self._http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", trust_env=False, timeout=60)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ATServicesRest/V1.0"

    def stats(self) -> dict[str, Any]:
        """Counters since the last reset: ``endpoints`` (requests per kind, peaks) and ``objects_read``."""
        return dict(self._http.get("/_bench/stats").raise_for_status().json())

    def reset(self) -> None:
        self._http.post("/_bench/reset").raise_for_status()

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if hasattr(self, "_http"):
            self._http.close()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def main(argv: list[str]) -> None:
    db = Path(argv[0])
    options = dict(zip(argv[1::2], map(float, argv[2::2]), strict=False))
    pace = Pace(latency=options.get("--latency", 0.0), write_latency=options.get("--write-latency"))
    sandbox = make_app(db, SandboxConfig(hourly_limit=BENCH_HOURLY_LIMIT, pace=pace))
    without_fsync(sandbox)
    server = start_in_background(
        LoopbackServer, CountingApp(sandbox), host="127.0.0.1", port=0, thread_name="bench-sandbox"
    )
    print(server.port, flush=True)
    try:
        threading.Event().wait()  # until SIGINT (:meth:`SandboxProcess.stop`)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
