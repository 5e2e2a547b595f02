"""Reads a ZIP's records by hand (APPNOTE 6.3.10), to prove what the writer put there.

`zipfile` reads ZIP64 and plain archives alike, so it cannot show which one it was given;
these helpers raise `NotZip64` when a record that a ZIP64 archive must have is missing.
"""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass

LOCAL_HEADER = b"PK\x03\x04"
DATA_DESCRIPTOR = b"PK\x07\x08"
END = b"PK\x05\x06"
ZIP64_END = b"PK\x06\x06"
ZIP64_LOCATOR = b"PK\x06\x07"
ZIP64_EXTRA_ID = 0x0001
END_SIZE = 22
LOCATOR_SIZE = 20


class NotZip64(AssertionError):
    """A ZIP64 record is missing or does not add up."""


@dataclass(frozen=True)
class Zip64End:
    entries: int
    directory_size: int
    directory_offset: int


def zip64_end(data: bytes) -> Zip64End:
    """The ZIP64 end-of-central-directory record, found through its locator."""
    end_at = len(data) - END_SIZE  # the writer adds no archive comment
    if data[end_at : end_at + 4] != END:
        raise NotZip64("no end-of-central-directory record in the last 22 bytes")
    locator_at = end_at - LOCATOR_SIZE
    if data[locator_at : locator_at + 4] != ZIP64_LOCATOR:
        raise NotZip64("no ZIP64 end-of-central-directory locator before the end record")
    _, record_at, _ = struct.unpack("<IQI", data[locator_at + 4 : locator_at + LOCATOR_SIZE])
    if data[record_at : record_at + 4] != ZIP64_END:
        raise NotZip64(f"the locator points at {record_at}, where no ZIP64 end record is")
    fields = struct.unpack("<QHHIIQQQQ", data[record_at + 4 : record_at + 56])
    _, _, _, _, _, on_disk, total, size, offset = fields
    if on_disk != total or record_at != offset + size:
        raise NotZip64(f"the ZIP64 end record does not add up: {fields}")
    return Zip64End(entries=total, directory_size=size, directory_offset=offset)


@dataclass(frozen=True)
class LocalEntry:
    zip64_extra: bool
    descriptor_sizes: tuple[int, int]  # (compressed, uncompressed) from the data descriptor


def local_entry(data: bytes, info: zipfile.ZipInfo) -> LocalEntry:
    """The entry's local header and its ZIP64 (24-byte) data descriptor."""
    at = info.header_offset
    if data[at : at + 4] != LOCAL_HEADER:
        raise AssertionError(f"no local file header at {at} for {info.filename}")
    name_len, extra_len = struct.unpack("<HH", data[at + 26 : at + 30])
    extra = data[at + 30 + name_len : at + 30 + name_len + extra_len]
    descriptor_at = at + 30 + name_len + extra_len + info.compress_size
    descriptor = data[descriptor_at : descriptor_at + 24]
    if descriptor[:4] != DATA_DESCRIPTOR:
        raise NotZip64(f"{info.filename}: no data descriptor after the data")
    crc, compressed, size = struct.unpack("<IQQ", descriptor[4:24])
    if crc != info.CRC or compressed != info.compress_size or size != info.file_size:
        raise NotZip64(f"{info.filename}: the data descriptor has no 8-byte sizes")
    return LocalEntry(ZIP64_EXTRA_ID in _extra_ids(extra), (compressed, size))


def _extra_ids(extra: bytes) -> list[int]:
    ids, at = [], 0
    while at + 4 <= len(extra):
        header_id, size = struct.unpack("<HH", extra[at : at + 4])
        ids.append(header_id)
        at += 4 + size
    return ids
