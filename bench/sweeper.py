"""``python -m bench.sweeper PATH``: run ``flask --app wsgi reminders send`` here, then write this process's peak
memory (VmHWM, in kB) to PATH.

The sweep's own peak: a parent's ``wait4`` reports the larger of the child's peak and the memory the child had
before it replaced itself with the command (on Linux, the size of the process that started it), so it would
report the benchmark's own size, not the sweeper's.
"""
from __future__ import annotations

import atexit
import sys
from pathlib import Path


def _report(path: Path) -> None:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            path.write_text(line.split()[1])


def main() -> None:
    """Sweep as the CLI does, reporting the peak memory on exit."""
    atexit.register(_report, Path(sys.argv[1]))
    from flask.cli import main as flask_main

    sys.argv = ["flask", "--app", "wsgi", "reminders", "send"]
    flask_main()


if __name__ == "__main__":
    main()
