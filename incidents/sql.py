"""Small query-building helpers shared by the services."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def listed(column: Any, ids: sa.Select[Any]) -> sa.ColumnElement[bool]:
    """Return "this id is among ``ids``", tested against the list of them built once per query.

    The ``+ 0`` keeps SQLite from looking each listed id up in an index instead (one search per id, so the
    cost would grow with the list); PostgreSQL hashes the list either way.
    """
    found: sa.ColumnElement[bool] = (column + 0).in_(ids)
    return found
