"""Where the local stack keeps what outlives one run: its router log (read by ``edge-router usage``) and, when
asked, the mapping table. Relative to the working directory, which ``make run`` makes the repository root."""

from __future__ import annotations

from pathlib import Path

STATE_DIR = Path(".edge-router") / "local"
ROUTER_LOG = STATE_DIR / "router.log"
"""The router's JSON log lines (one per request, with their metrics), appended while ``edge-router local`` runs."""
TABLE_FILE = STATE_DIR / "table.json"
"""The mapping table's rows, kept between runs when ``edge-router local`` is asked to persist it."""
