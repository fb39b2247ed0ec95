"""What a function prints goes to its log, as Lambda sends a function's output to CloudWatch Logs.

While the local stack runs, ``sys.stdout`` is a ``FunctionOutput``: every write still reaches the terminal, and
what a function writes during a call made through ``logged`` is also appended to that function's log file (the
router's request lines to ``paths.ROUTER_LOG``, which ``edge-router usage`` reads).
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any, TextIO

from .apigateway import LambdaHandler


class FunctionOutput(io.TextIOBase):
    """A text stream that copies writes made inside a logged function call to that function's log file."""

    def __init__(self, terminal: TextIO) -> None:
        self.terminal = terminal
        self._current = threading.local()
        self._files: list[TextIO] = []
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        self.terminal.write(text)
        log: TextIO | None = getattr(self._current, "log", None)
        if log is not None:
            with self._lock:
                log.write(text)
        return len(text)

    def flush(self) -> None:
        self.terminal.flush()

    def logged(self, handler: LambdaHandler, path: Path) -> LambdaHandler:
        """``handler`` with its output also appended to ``path`` (created with its folder if missing)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        log = path.open("a", buffering=1, encoding="utf-8")  # line-buffered: a reader sees whole lines promptly
        self._files.append(log)
        current = self._current

        def run(event: dict[str, Any], context: Any) -> Any:
            current.log = log
            try:
                return handler(event, context)
            finally:
                current.log = None

        return run

    def close_logs(self) -> None:
        """Close the log files (the stream itself stays usable)."""
        with self._lock:
            for log in self._files:
                log.close()
            self._files.clear()
