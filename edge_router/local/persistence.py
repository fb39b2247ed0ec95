"""The mapping table in a file between runs of the local stack, when asked (``--persist``, ``--data-file``).

The file holds the table's items in DynamoDB's own JSON form (types kept), sorted by key. It is read at start
before anything is seeded, written atomically (a temporary file, then a rename) whenever a scan shows the rows
changed, and once more at stop, so edits made with any tool (the admin CLI, boto3, the console of DynamoDB Local)
survive a restart.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

FORMAT = 1
WATCH_INTERVAL = 1.0
"""Seconds between the scans that detect changed rows."""


class PersistenceError(RuntimeError):
    """The table file cannot be read or written."""


class TableFile:
    """Loads a table from ``path``, and keeps ``path`` equal to the table while the stack runs."""

    def __init__(self, path: Path, client: Any, table: str, *, interval: float = WATCH_INTERVAL) -> None:
        self.path = path
        self.client = client
        self.table = table
        self.interval = interval
        self._saved: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def load(self) -> int | None:
        """Put the file's rows into the table; their count, or ``None`` when there is no file yet."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise PersistenceError(f"cannot read {self.path}: {error.strerror}") from None
        try:
            document = json.loads(text)
            items = document["items"]
            if document.get("format") != FORMAT or not isinstance(items, list):
                raise ValueError("not a table file")
        except (ValueError, KeyError, TypeError) as error:
            raise PersistenceError(f"{self.path} is not a table file written by edge-router local ({error})") from None
        for item in items:
            self.client.put_item(TableName=self.table, Item=item)
        self._saved = self._render(items)
        return len(items)

    def _items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self.client.get_paginator("scan").paginate(TableName=self.table, ConsistentRead=True):
            items.extend(page.get("Items", []))
        return sorted(items, key=lambda item: json.dumps(item.get("hk"), sort_keys=True))

    def _render(self, items: list[dict[str, Any]]) -> str:
        return json.dumps({"format": FORMAT, "table": self.table, "items": items}, indent=2, sort_keys=True) + "\n"

    def save(self) -> bool:
        """Write the table when it differs from what was last written; true when the file changed."""
        with self._lock:
            text = self._render(self._items())
            if text == self._saved:
                return False
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_name(self.path.name + ".partial")
            partial.write_text(text)
            os.replace(partial, self.path)  # atomic: a reader sees the old file or the new one, never half of one
            self._saved = text
            return True

    def watch(self) -> None:
        """Save in the background after every change (checked every ``interval`` seconds) until ``stop``."""

        def run() -> None:
            while not self._stop.wait(self.interval):
                try:
                    self.save()
                except Exception:  # noqa: S112 - the table may be briefly unreachable; the next scan retries
                    continue

        self._thread = threading.Thread(target=run, name="table-file", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching and save one last time."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.save()
