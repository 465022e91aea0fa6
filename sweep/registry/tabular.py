"""Rows out of the files communities keep: CSV in whatever encoding Excel saved, or XLSX.

Rows are streamed, numbered as the spreadsheet shows them (so a report's "row 17" is the
row a person sees), and every cell comes out as text.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import PurePath
from typing import BinaryIO

from sweep.errors import InvalidInput
from sweep.registry.headers import Row

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
GEOJSON_SUFFIXES = (".geojson", ".json")
# Excel's "CSV (UTF-8)" writes a BOM; its plain "CSV" on a Chinese Windows writes GBK (GB18030 is its superset).
ENCODINGS = ("utf-8-sig", "gb18030")
_CHUNK = 1 << 20
csv.field_size_limit(1 << 24)


def file_format(filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in XLSX_SUFFIXES:
        return "xlsx"
    if suffix in GEOJSON_SUFFIXES:
        return "geojson"
    raise InvalidInput(
        "file",
        f"不支持的文件类型 {suffix or '(无扩展名)'}，请用 CSV、XLSX 或 GeoJSON "
        f"(unsupported file type {suffix or '(no suffix)'}; use CSV, XLSX or GeoJSON)",
    )


def _decodes(stream: BinaryIO, encoding: str) -> bool:
    stream.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        while chunk := stream.read(_CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    finally:
        stream.seek(0)
    return True


def detect_encoding(stream: BinaryIO) -> str:
    """UTF-16 by its BOM, else the first of UTF-8 (BOM or not) and GB18030 that decodes the whole file."""
    head = stream.read(4)
    stream.seek(0)
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if _decodes(stream, "utf-16"):
            return "utf-16"
        raise InvalidInput("file", "文件标为 UTF-16 但内容不完整或已损坏，请重新导出 (the file says UTF-16 but its body is broken; export it again)")
    for encoding in ENCODINGS:
        if _decodes(stream, encoding):
            return encoding
    raise InvalidInput(
        "file", "无法识别文件编码，请另存为 UTF-8 或 GBK (unrecognised text encoding; save the file as UTF-8 or GBK)"
    )


def _delimiter(sample: str) -> str:
    lines = [line for line in sample.splitlines()[:20] if line.strip()]
    counts = {d: sum(line.count(d) for line in lines) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(stream: BinaryIO) -> Iterator[Row]:
    encoding = detect_encoding(stream)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    sample = text.read(64 * 1024)
    text.seek(0)
    reader = csv.reader(text, delimiter=_delimiter(sample))
    try:
        # Cells are stripped where they are read: most are never looked at twice.
        yield from enumerate(reader, start=1)
    finally:
        # Hand the stream back to its owner rather than letting the wrapper close it.
        with contextlib.suppress(ValueError):
            text.detach()


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def read_xlsx(stream: BinaryIO) -> Iterator[Row]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:
        raise InvalidInput("file", f"无法读取 XLSX 文件 (cannot read the XLSX file): {exc.__class__.__name__}") from exc
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [cell_text(v) for v in values]
    finally:
        book.close()


def read_rows(stream: BinaryIO, *, filename: str) -> Iterator[Row]:
    fmt = file_format(filename)
    if fmt == "csv":
        return read_csv(stream)
    if fmt == "xlsx":
        return read_xlsx(stream)
    raise InvalidInput("file", "GeoJSON 只能导入楼栋和网格 (GeoJSON holds buildings and grids only)")


__all__ = ["cell_text", "detect_encoding", "file_format", "read_csv", "read_rows", "read_xlsx"]
