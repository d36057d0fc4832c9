"""Reading back the files people receive: xlsx sheets under their header block, CSV after its leading lines."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd


def _rows(src, sheet: str) -> list[tuple]:
    import openpyxl

    data = src if isinstance(src, (bytes, bytearray)) else Path(src).read_bytes()
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return [tuple(r) for r in wb[sheet].iter_rows(values_only=True)]


def _table_start(rows: list[tuple]) -> int:
    """The table's header row: after the header block's blank row when the sheet opens with one."""
    if rows and len([v for v in rows[0] if v is not None]) == 1:  # a title alone on the first row
        for i, r in enumerate(rows[:40]):
            if all(v is None for v in r):
                return i + 1
    return 0


def header_block(src, sheet: str) -> dict:
    """``{label: value}`` of what the workbook states about ``sheet``: the block above its table (title under
    ``标题``), or, as the writers lay workbooks out now (issue 25.4: tables from row 1), its 说明 sheet; empty
    without either."""
    rows = _rows(src, sheet)
    start = _table_start(rows)
    if not start:
        import openpyxl

        data = src if isinstance(src, (bytes, bytearray)) else Path(src).read_bytes()
        if sheet != "说明" and "说明" in openpyxl.load_workbook(io.BytesIO(data), read_only=True).sheetnames:
            return {r[0]: r[1] for r in _rows(data, "说明")[1:] if r and r[0] is not None}
        return {}
    out = {"标题": rows[0][0]}
    out.update({r[0]: r[1] for r in rows[1:start - 1] if r and r[0] is not None})
    return out


def read_sheet(src, sheet: str) -> pd.DataFrame:
    """A sheet's table as a frame, below its header block."""
    data = src if isinstance(src, (bytes, bytearray)) else Path(src).read_bytes()
    start = _table_start(_rows(data, sheet))
    return pd.read_excel(io.BytesIO(data), sheet_name=sheet, skiprows=start)


def read_sheets(src) -> dict[str, pd.DataFrame]:
    import openpyxl

    data = src if isinstance(src, (bytes, bytearray)) else Path(src).read_bytes()
    names = openpyxl.load_workbook(io.BytesIO(data), read_only=True).sheetnames
    return {n: read_sheet(data, n) for n in names}


def csv_lead_and_table(data: bytes) -> tuple[dict, pd.DataFrame]:
    """A CSV for people: its leading ``# 项目：内容`` lines as a dict, and the table after the blank line."""
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    lead = {}
    start = 0
    if rows and rows[0] and rows[0][0].startswith("# "):
        start = rows.index([]) + 1
        for r in rows[:start - 1]:
            k, _, v = r[0][2:].partition("：")
            lead[k] = v
    table = pd.read_csv(io.StringIO(text), skiprows=start)
    return lead, table
