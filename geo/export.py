"""Downloads: the whole store as one GeoPackage, and a layer as an Excel sheet with Chinese headers.

The xlsx of a site layer re-imports cleanly (``python -m geo import``): its
headers are the contract's Chinese labels and its statuses their Chinese
words, both of which the importer recognises. Text cells are always written
as text, so a name typed as ``=HYPERLINK(…)`` stays a name and never becomes
a formula in the recipient's spreadsheet.
"""
from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from .contract import SITE_LAYERS, TABLES, status_label


def store_gpkg_bytes(store) -> bytes:
    """The whole store as GeoPackage bytes (a standalone copy of one consistent state, either backend)."""
    with tempfile.TemporaryDirectory(prefix="qingshan-export-") as tmp:
        return store.export_gpkg(Path(tmp) / "qingshan.gpkg").read_bytes()


def layer_sheet(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """``df`` as users read it: Chinese headers, Chinese status words, 经度/纬度 for points.

    Lines and polygons are left out (Excel cells cannot hold township outlines;
    the GeoPackage download has them).
    """
    spec = TABLES[table]
    out = pd.DataFrame(df.drop(columns="geometry", errors="ignore")).copy()
    if table in SITE_LAYERS and "status" in out.columns:
        out["status"] = [status_label(s, table) if isinstance(s, str) else s for s in out["status"]]
    if table == "status_events" and {"layer", "status"} <= set(out.columns):
        out["status"] = [status_label(s, lay) for s, lay in zip(out["status"], out["layer"])]
    if spec.geometry == "Point" and "geometry" in df.columns:
        g = np.asarray(df.geometry.values, dtype=object)
        ok = ~(shapely.is_missing(g) | shapely.is_empty(g))
        lon = np.full(len(g), np.nan)
        lat = np.full(len(g), np.nan)
        if ok.any():
            lon[ok], lat[ok] = shapely.get_x(g[ok]), shapely.get_y(g[ok])
        out["经度"] = np.round(lon, 7)
        out["纬度"] = np.round(lat, 7)
    labels = {c.name: c.label for c in spec.columns if c.label}
    return out.rename(columns=labels)


def _cell(v):
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, np.generic):
        return v.item()
    return v


def layer_xlsx(df: pd.DataFrame, table: str, *, sheet: str | None = None) -> bytes:
    """One layer as an .xlsx file (see :func:`layer_sheet`); strings are stored as text, never formulas."""
    import openpyxl

    from .contract import LAYER_LABELS

    data = layer_sheet(df, table)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = (sheet or LAYER_LABELS.get(table, table))[:31].replace("/", "_")
    ws.append([str(c) for c in data.columns])
    kinds = {c.label: c.kind for c in TABLES[table].columns if c.label}
    formats = {i: "yyyy-mm-dd hh:mm" if kinds.get(c) == "datetime" else "yyyy-mm-dd"
               for i, c in enumerate(data.columns) if str(data[c].dtype).startswith("datetime")}
    for row in data.itertuples(index=False):
        ws.append([_cell(v) for v in row])
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # "=…" would otherwise be written as a formula
            elif cell.column - 1 in formats and cell.value is not None:
                cell.number_format = formats[cell.column - 1]
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def add_cli(sub) -> None:
    from .cli import add_store_arg

    p = sub.add_parser("export", help="export the whole store (.gpkg) or one layer (.xlsx, .csv, .geojson) / 导出数据")
    add_store_arg(p)
    p.add_argument("--layer", choices=list(TABLES), help="the table to export (not needed for .gpkg)")
    p.add_argument("--out", required=True, help="FILE.gpkg (whole store) or FILE.xlsx|.csv|.geojson (one layer)")
    p.set_defaults(func=_cli)


def _cli(args) -> int:
    from .cli import UserError, store_from

    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in (".gpkg", ".xlsx", ".csv", ".geojson"):
        raise UserError(f"不支持的导出格式“{suffix}”（支持 gpkg、xlsx、csv、geojson）。",
                        f"unsupported export format {suffix!r} (gpkg, xlsx, csv, geojson)")
    if suffix != ".gpkg" and not args.layer:
        raise UserError("导出单个图层须指定 --layer。", "--layer is required for .xlsx, .csv and .geojson")
    store = store_from(args)
    if suffix == ".gpkg":
        data = store_gpkg_bytes(store)
    else:
        df = store.read(args.layer)
        if suffix == ".xlsx":
            data = layer_xlsx(df, args.layer)
        elif suffix == ".csv":
            data = layer_sheet(df, args.layer).to_csv(index=False).encode("utf-8-sig")
        else:
            if not TABLES[args.layer].geometry:
                raise UserError(f"“{args.layer}”没有几何，不能导出为 GeoJSON。", f"{args.layer} has no geometry")
            data = df.to_json(ensure_ascii=False, default=str).encode("utf-8")
    # Write beside the target and rename: a failed export never leaves half a file.
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".export-", dir=out.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, out)
    print(f"{out} ({len(data):,} bytes)")
    return 0
