"""Run `fanzha` as a child process, the way an officer runs it."""

from __future__ import annotations

import os
import subprocess
import sys

from bot.settings import PROJECT_ROOT


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
