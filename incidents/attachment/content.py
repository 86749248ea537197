"""What a file is, found from its bytes: the name and the client's Content-Type are never believed.

Each kind names the media type it is served as, the file-name endings it may carry, and a check of its content
(magic bytes, and for containers their structure). A file is accepted only when its content is one of the
allowed kinds and its name ends as that kind's files do: a PNG named ``report.pdf`` lies about itself and is
refused. Nothing here can execute in a browser: HTML, SVG and scripts are no kind at all.
"""
from __future__ import annotations

import csv
import io
import os
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Characters a text file may hold besides printable ones: tab, line feed, carriage return, form feed.
TEXT_CONTROLS = {"\t", "\n", "\r", "\f"}


@dataclass(frozen=True)
class Kind:
    """A kind of file the tool keeps."""

    name: str
    media_type: str
    endings: tuple[str, ...]
    label: str


class Malformed(Exception):
    """The content claims a kind by its first bytes but is not a well-formed file of it."""


def _pdf(data: bytes) -> bool:
    if not data.startswith(b"%PDF-"):
        return False
    if b"%%EOF" not in data[-2048:]:
        raise Malformed("The PDF is cut short or damaged: it has no end-of-file marker.")
    return True


def _png(data: bytes) -> bool:
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return False
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise Malformed("The PNG image is damaged: its header chunk is missing.")
    return True


def _jpeg(data: bytes) -> bool:
    if not data.startswith(b"\xff\xd8\xff"):
        return False
    if b"\xff\xd9" not in data[-1024:]:
        raise Malformed("The JPEG image is cut short: it has no end-of-image marker.")
    return True


def _gif(data: bytes) -> bool:
    if not data.startswith((b"GIF87a", b"GIF89a")):
        return False
    if len(data) < 14 or not data.rstrip(b"\x00").endswith(b";"):
        raise Malformed("The GIF image is cut short: it has no trailer.")
    return True


def _webp(data: bytes) -> bool:
    if not (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return False
    (size,) = struct.unpack("<I", data[4:8])
    if size + 8 != len(data) and size + 9 != len(data):
        raise Malformed("The WebP image is cut short or has bytes after its end.")
    return True


def _zip_names(data: bytes) -> list[str] | None:
    if not data.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise Malformed("The Office document is damaged: its ZIP structure cannot be read.") from exc


def _office(folder: str) -> Callable[[bytes], bool]:
    def check(data: bytes) -> bool:
        names = _zip_names(data)
        if names is None:
            return False
        return "[Content_Types].xml" in names and any(name.startswith(folder) for name in names)
    return check


def _ole(data: bytes) -> bool:
    if not data.startswith(OLE_MAGIC):
        return False
    # Sectors of 512 or 4096 bytes after a 512-byte header: a shorter file is no compound document.
    if len(data) < 1024 or (len(data) - 512) % 512:
        raise Malformed("The Office document is damaged: its compound-file structure is incomplete.")
    return True


def _text(data: bytes) -> str | None:
    """Return the text if the bytes are UTF-8 text (a byte-order mark allowed), else None."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if any(ch < " " and ch not in TEXT_CONTROLS for ch in text) or "\x7f" in text:
        return None
    return text


def _plain(data: bytes) -> bool:
    return _text(data) is not None


def _csv(data: bytes) -> bool:
    text = _text(data)
    if text is None:
        return False
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise Malformed(f"The CSV file cannot be read: {exc}.") from exc
    return bool(rows)


KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("pdf", "application/pdf", (".pdf",), "PDF"),
    Kind("png", "image/png", (".png",), "PNG image"),
    Kind("jpeg", "image/jpeg", (".jpg", ".jpeg"), "JPEG image"),
    Kind("gif", "image/gif", (".gif",), "GIF image"),
    Kind("webp", "image/webp", (".webp",), "WebP image"),
    Kind("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",),
         "Word document"),
    Kind("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",), "Excel workbook"),
    Kind("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", (".pptx",),
         "PowerPoint presentation"),
    Kind("doc", "application/msword", (".doc",), "Word 97-2003 document"),
    Kind("xls", "application/vnd.ms-excel", (".xls",), "Excel 97-2003 workbook"),
    Kind("ppt", "application/vnd.ms-powerpoint", (".ppt",), "PowerPoint 97-2003 presentation"),
    Kind("csv", "text/csv; charset=utf-8", (".csv",), "CSV file"),
    Kind("text", "text/plain; charset=utf-8", (".txt", ".log", ".md"), "text file"),
)}
# Each kind's content check; the legacy Office kinds share one (the name tells Word from Excel there, and the
# content still has to be a compound document).
CHECKS: dict[str, Callable[[bytes], bool]] = {
    "pdf": _pdf, "png": _png, "jpeg": _jpeg, "gif": _gif, "webp": _webp,
    "docx": _office("word/"), "xlsx": _office("xl/"), "pptx": _office("ppt/"),
    "doc": _ole, "xls": _ole, "ppt": _ole, "csv": _csv, "text": _plain,
}


def ending(filename: str) -> str:
    """Return the file name's ending, lower case, with its dot ('' when it has none)."""
    return os.path.splitext(filename)[1].lower()


def detect(data: bytes, filename: str, allowed: list[str]) -> Kind:
    """Return the kind the content is, among ``allowed``; raise ValueError saying why the file is refused.

    The name's ending chooses which kind the file claims to be; its content must then pass that kind's check.
    Binary kinds are recognised by their first bytes whatever the name says, so a file named as one kind whose
    content is another is refused, naming both.
    """
    if not data:
        raise ValueError("The file is empty.")
    claimed = next((KINDS[name] for name in allowed if name in KINDS and ending(filename) in KINDS[name].endings),
                   None)
    if claimed is None:
        endings = ", ".join(sorted({e for name in allowed if name in KINDS for e in KINDS[name].endings}))
        raise ValueError(f"Files named like {filename!r} are not accepted; the accepted endings are {endings}.")
    try:
        if CHECKS[claimed.name](data):
            return claimed
        actual = next((KINDS[name] for name in CHECKS if name not in ("csv", "text", claimed.name)
                       and _quietly(CHECKS[name], data)), None)
    except Malformed as exc:
        raise ValueError(str(exc)) from exc
    if actual is not None:
        raise ValueError(f"The file is named as a {claimed.label} but its content is a {actual.label}; "
                         "a file whose content is not what its name says is refused.")
    raise ValueError(f"The file is named as a {claimed.label} but its content is not one; "
                     "a file whose content is not what its name says is refused.")


def _quietly(check: Callable[[bytes], bool], data: bytes) -> bool:
    try:
        return check(data)
    except Malformed:
        return True  # it starts as that kind does: enough to say what it is
