"""Write CSV a chunk at a time, safe to open in a spreadsheet, as a streamed download."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from flask import Response, stream_with_context

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A byte order mark lets Excel read the file as UTF-8 (names and titles are not all ASCII).
BOM = "\ufeff"
# Rows are sent in chunks of about this many characters: fewer, larger writes to the client.
CHUNK = 16 * 1024


def safe_cell(value: Any) -> Any:
    """Return the value with a leading quote if a spreadsheet would read it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def lines(rows: Iterable[Sequence[Any]], *, bom: bool = True, chunk: int = CHUNK) -> Iterator[str]:
    """Yield CSV text in chunks of about ``chunk`` characters, every text cell guarded against formulas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if bom:
        buffer.write(BOM)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
        if buffer.tell() >= chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)
    if buffer.tell():
        yield buffer.getvalue()


def csv_response(rows: Iterable[Sequence[Any]], filename: str) -> Response:
    """Stream rows as a CSV download (inside the request context, so the rows can read the database)."""
    response = Response(stream_with_context(lines(rows)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
