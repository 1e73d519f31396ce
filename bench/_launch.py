"""``python -m bench._launch REPORT COMMAND…``: run COMMAND and write its resource usage to REPORT.

Linux counts a new program's peak memory from the process it was started from: a child forked by
a large process (the benchmark, after generating and seeding 100,000 subscriptions) and then
``exec``-ing billsync reports at least that process's peak resident set. So each measured command is
started from this small, freshly started process, and its own ``os.wait4`` figures are passed back
as JSON: exit status, user and system CPU seconds, and peak resident set in KiB (as Linux reports it).
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> None:
    report, command = argv[0], argv[1:]
    pid = os.fork()
    if pid == 0:  # the child: become the command, keeping the standard streams it was given
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    _pid, status, usage = os.wait4(pid, 0)
    rss = usage.ru_maxrss / 1024 if sys.platform == "darwin" else usage.ru_maxrss
    with open(report, "w", encoding="utf-8") as fh:
        json.dump(
            {
                "exit_code": os.waitstatus_to_exitcode(status),
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
                "peak_rss_kb": rss,
            },
            fh,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
