"""Counting a zip's members before ``zipfile`` loads them.

``zipfile.ZipFile`` reads an archive's whole central directory into memory and makes an object
for every member it lists before any limit can be checked: an upload of 8 MiB of empty members
made about 80,000 objects, a downloaded wheel any number. ``count_members`` walks the central
directory record by record (46 bytes read each, names skipped), the way ``zipfile`` finds it
(the end record in the last 64 KiB, its Zip64 form just before it, an archive appended to other
bytes), and stops as soon as the count passes the limit. What it cannot read it leaves to
``zipfile``, which says why the file is not a zip.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

END = b"PK\x05\x06"
"""The end-of-central-directory record's signature (22 bytes and a comment)."""
END_SIZE = 22
END64_LOCATOR = b"PK\x06\x07"
LOCATOR_SIZE = 20
END64 = b"PK\x06\x06"
END64_SIZE = 56
ENTRY = b"PK\x01\x02"
"""A central directory record's signature (46 bytes, then a name, extra data and a comment)."""
ENTRY_SIZE = 46
LARGEST_COMMENT = 0xFFFF


def count_members(archive: BinaryIO, limit: int) -> int | None:
    """The members ``archive``'s central directory lists, counted up to ``limit + 1`` (a larger
    count is returned as ``limit + 1``); None when the archive has no readable end record. The
    archive's position is put back."""
    start = archive.tell()
    try:
        found = _central_directory(archive)
        return None if found is None else _count(archive, *found, limit)
    finally:
        archive.seek(start)


def _central_directory(archive: BinaryIO) -> tuple[int, int] | None:
    """Where the central directory starts and its size, as ``zipfile`` computes them: it ends
    where the end record (or its Zip64 form) begins, whatever offset the record gives."""
    size = archive.seek(0, 2)
    tail_size = min(size, END_SIZE + LARGEST_COMMENT)
    archive.seek(size - tail_size)
    tail = archive.read(tail_size)
    at = tail.rfind(END)
    if at < 0 or len(tail) - at < END_SIZE:
        return None
    location = size - tail_size + at
    (directory_size,) = struct.unpack("<I", tail[at + 12 : at + 16])
    end64 = location - LOCATOR_SIZE - END64_SIZE
    if end64 >= 0:
        archive.seek(location - LOCATOR_SIZE)
        if archive.read(4) == END64_LOCATOR:
            archive.seek(end64)
            record = archive.read(END64_SIZE)
            if len(record) == END64_SIZE and record[:4] == END64:
                (directory_size,) = struct.unpack("<Q", record[40:48])
                location = end64
    begins = location - directory_size
    return (begins, directory_size) if begins >= 0 else None


def _count(archive: BinaryIO, begins: int, directory_size: int, limit: int) -> int | None:
    archive.seek(begins)
    count = read = 0
    while read < directory_size and count <= limit:
        record = archive.read(ENTRY_SIZE)
        if len(record) != ENTRY_SIZE or record[:4] != ENTRY:
            return None  # zipfile refuses it ("Bad magic number for central directory")
        name, extra, comment = struct.unpack("<HHH", record[28:34])
        archive.seek(name + extra + comment, 1)
        read += ENTRY_SIZE + name + extra + comment
        count += 1
    return count
