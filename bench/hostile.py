"""Hostile input, measured: ``python -m bench.hostile``.

Each case is a workspace (the embedded sandbox and the example export) with one hostile change; the
``billsync plan`` that refuses it runs as a child process, and its wall time and peak resident memory
(from ``os.wait4``) are recorded next to a plain plan of the same workspace. The limits are the
defaults, except where a case says otherwise. Results go to ``bench/results/hostile.json`` and a
markdown table on stdout.
"""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from providers.cloudmore.source import example_bundle_dir
from rules import default_rules_dir

from ._measure import run_billsync

RESULTS = Path(__file__).resolve().parent / "results"
AS_OF = "2026-10-07"
LAUGHS = "\n".join(
    ["vars:", '  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 10)]
)
NAME = '"{{ vars.contract_prefix }}{{ org.name }} - {{ sub.product_name }}"'


def _workspace(root: Path, extra_config: str = "", settings: str = "./rules/settings.yaml") -> Path:
    root.mkdir(parents=True)
    shutil.copytree(example_bundle_dir(AS_OF), root / "cloudmore")
    shutil.copytree(default_rules_dir(), root / "rules", ignore=shutil.ignore_patterns("*.py", "__*"))
    (root / "billsync.yaml").write_text(
        f"cloudmore: {{bundle: ./cloudmore}}\nrules: ./rules\nsettings: {settings}\n" + extra_config,
        encoding="utf-8",
    )
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(old, new, 1) if old else text + new, encoding="utf-8")


def _endless_server(stop: threading.Event) -> int:
    """A loopback server answering every request with an endless body; returns its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)

    def answer(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n[")
                while not stop.is_set():
                    conn.sendall(b"0," * 32768)
            except OSError:
                pass

    def serve() -> None:
        with listener:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return int(listener.getsockname()[1])


def _cases(stop: threading.Event) -> dict[str, Callable[[Path], Path]]:
    def plain(root: Path) -> Path:
        return _workspace(root)

    def alias_bomb(root: Path) -> Path:
        ws = _workspace(root)
        _edit(ws / "rules" / "settings.yaml", "vars:", "old_vars:")
        _edit(ws / "rules" / "settings.yaml", "", LAUGHS + "\n")
        return ws

    def loop(root: Path) -> Path:
        ws = _workspace(root)
        _edit(
            ws / "rules" / "csp365.yaml",
            NAME,
            '"{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"',
        )
        return ws

    def huge_string(root: Path) -> Path:
        ws = _workspace(root)
        _edit(ws / "rules" / "csp365.yaml", NAME, "\"{{ 'a' * 10**10 }}\"")
        return ws

    def dev_zero(root: Path) -> Path:
        return _workspace(root, settings="/dev/zero")

    def endless_body(root: Path) -> Path:
        port = _endless_server(stop)
        return _workspace(root, f"autotask: {{url: 'http://127.0.0.1:{port}/ATServicesRest/V1.0'}}\n")

    return {
        "plain plan (reference)": plain,
        "YAML alias bomb (10^9 values)": alias_bomb,
        "template loop of 10^10 iterations": loop,
        "template 'a' * 10**10": huge_string,
        "settings: /dev/zero": dev_zero,
        "endless HTTP body (16 MiB cap)": endless_body,
    }


def main() -> None:
    stop = threading.Event()
    rows = []
    with tempfile.TemporaryDirectory(prefix="billsync-hostile-") as tmp:
        for number, (name, make) in enumerate(_cases(stop).items()):
            workspace = make(Path(tmp) / f"case{number}")
            run = run_billsync(
                workspace, ["plan", "--as-of", AS_OF], Path(tmp) / f"case{number}.out", allowed=(0, 1)
            )
            rows.append(
                {
                    "case": name,
                    "exit_code": run.exit_code,
                    "wall_seconds": round(run.wall_seconds, 2),
                    "peak_rss_mb": round(run.peak_rss_mb, 1),
                    "message": run.output.with_suffix(".err")
                    .read_text(encoding="utf-8")
                    .split("\n")[0][:160],
                }
            )
    stop.set()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "hostile.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    print("| case | exit | wall s | peak MB | first line of stderr |")
    print("|---|---|---|---|---|")
    for row in rows:
        message = row["message"].replace("|", "\\|")
        print(
            f"| {row['case']} | {row['exit_code']} | {row['wall_seconds']} | {row['peak_rss_mb']} | {message} |"
        )


if __name__ == "__main__":
    main()
