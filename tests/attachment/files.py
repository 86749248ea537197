"""Small real files of each kind, made here, and files that lie about themselves or are damaged."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib


def pdf(text: str = "Carrier notice") -> bytes:
    """Return a small well-formed PDF."""
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
            + f"% {text}\n".encode() + b"trailer << /Root 1 0 R >>\n%%EOF\n")


def png() -> bytes:
    """Return a 1x1 PNG image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def docx() -> bytes:
    """Return a minimal Word document (an OOXML package)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def csv() -> bytes:
    """Return a small CSV file."""
    return b"cohort,restored_at\nCSP N,2023-04-04T10:40+01:00\n"
