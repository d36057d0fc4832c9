"""Downloads: the whole store as one GeoPackage, and a layer as an Excel sheet with Chinese headers.

The xlsx of a site layer re-imports cleanly (``python -m geo import``): its
headers are the contract's Chinese labels and its statuses their Chinese
words, both of which the importer recognises. Every file is written by
:mod:`geo.io.writers`: text cells are always text, so a name typed as
``=HYPERLINK(…)`` stays a name and never becomes a formula in the recipient's
spreadsheet (in CSV it gets a leading quote).

Personal data (:data:`PERSONAL_COLUMNS`: a complainant's name, and a phone or home address should a
store carry one) leaves only with ``personal=True``: the web page passes it for signed-in accounts
(``geo.auth`` action ``personal_data``), the command line (trusted, like its writes) always. Without it
the columns are dropped from sheets and from the GeoPackage, whose freed pages are zeroed.
"""
from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from .contract import SITE_LAYERS, TABLES, status_label
from .errors import GeoError


#: Columns about a person other than the bureau's staff: shown and exported to signed-in accounts only.
#: ``complainant`` is the contract's; Qingshan never stores a phone or a complainant's home address (the
#: register's phone column is dropped on import), but a store written by other tools may carry one.
#: (``address`` is where the complaint is about, public like the complaint's point.)
PERSONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "complaints": ("complainant", "phone", "complainant_phone", "complainant_address"),
}


def without_personal(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """``df`` without the :data:`PERSONAL_COLUMNS` of ``table`` (the same frame when it has none)."""
    drop = [c for c in PERSONAL_COLUMNS.get(table, ()) if c in df.columns]
    return df.drop(columns=drop) if drop else df


def _drop_personal_gpkg(path: Path) -> None:
    """Drop the personal columns from a GeoPackage copy just written (nobody else has it open).

    The names must leave the file's bytes, not only its tables: ``secure_delete`` zeroes what the drop
    frees, and VACUUM rewrites every page, so nothing an earlier delete left in free pages (a SQLite built
    without secure delete, as on Windows) survives either. The copy is in rollback-journal mode: no WAL
    beside it keeps the old pages.
    """
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA secure_delete = ON")
        for table, columns in PERSONAL_COLUMNS.items():
            have = {r[1] for r in con.execute(f'PRAGMA table_info("{table}")')}
            for column in (c for c in columns if c in have):
                con.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
        con.execute("VACUUM")
    finally:
        con.close()


def store_gpkg_bytes(store, *, personal: bool = False) -> bytes:
    """The whole store as GeoPackage bytes (a standalone copy of one consistent state, either backend).

    ``personal``: keep :data:`PERSONAL_COLUMNS` (signed-in accounts, the command line)."""
    with tempfile.TemporaryDirectory(prefix="qingshan-export-") as tmp:
        path = store.export_gpkg(Path(tmp) / "qingshan.gpkg")
        if not personal:
            _drop_personal_gpkg(path)
        return path.read_bytes()


def layer_sheet(df: pd.DataFrame, table: str, *, personal: bool = False) -> pd.DataFrame:
    """``df`` as users read it: Chinese headers, Chinese status words, 经度/纬度 for points.

    Lines and polygons are left out (Excel cells cannot hold township outlines;
    the GeoPackage download has them); so are :data:`PERSONAL_COLUMNS` unless ``personal``.
    """
    spec = TABLES[table]
    # Binary content (attachments) has no place in a spreadsheet cell: the GeoPackage download carries it.
    binary = [c.name for c in spec.columns if c.kind == "bytes"]
    df = df if personal else without_personal(df, table)
    out = pd.DataFrame(df.drop(columns=["geometry", *binary], errors="ignore")).copy()
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
        out["经度"] = np.round(lon, REIMPORT_DECIMALS)
        out["纬度"] = np.round(lat, REIMPORT_DECIMALS)
    labels = {c.name: c.label for c in spec.columns if c.label}
    return out.rename(columns=labels)


#: Decimals of a layer export's coordinates: 1e-7° (about 1 cm), so that the sheet re-imported changes no
#: point (the importer's :data:`geo.intake.ledger.SAME_GEOMETRY_M`, 5 cm; 6 decimals could move one 7 cm).
REIMPORT_DECIMALS = 7


def layer_meta(table: str, n: int, *, as_of=None, data_version: str | None = None, generated_by: str | None = None):
    """What a layer export is (:class:`geo.io.writers.Meta`): the layer as stored, its coordinates, the date."""
    from .contract import LAYER_LABELS
    from .io.writers import Meta

    spec = TABLES[table]
    coords = {"Point": "点位经纬度（经度、纬度列），WGS84 / CGCS2000（EPSG:4326）"}.get(
        spec.geometry or "", "几何仅在 GeoPackage 中" if spec.geometry else "无几何")
    return Meta(title=f"{LAYER_LABELS.get(table, table)}数据导出",
                rule="存储中的记录原样导出：状态为当前状态（最新一条状态记录），表头和状态为中文，可修改后重新导入",
                parameters={"图层": LAYER_LABELS.get(table, table), "记录数": int(n), "坐标": coords},
                as_of=as_of, data_version=data_version, generated_by=generated_by)


def layer_xlsx(df: pd.DataFrame, table: str, *, sheet: str | None = None, meta=None, personal: bool = False) -> bytes:
    """One layer as an .xlsx file (see :func:`layer_sheet`); strings are stored as text, never formulas.

    ``meta`` (:func:`layer_meta`): a 说明 sheet after the table, whose header is on row 1. ``personal``: keep :data:`PERSONAL_COLUMNS`."""
    from .contract import LAYER_LABELS
    from .io.writers import write_xlsx

    return write_xlsx({sheet or LAYER_LABELS.get(table, table): layer_sheet(df, table, personal=personal)},
                      meta=meta, coord_decimals=REIMPORT_DECIMALS)


def layer_csv(df: pd.DataFrame, table: str, *, meta=None, personal: bool = False) -> bytes:
    """One layer as CSV for people (UTF-8 with BOM, the headers and words of :func:`layer_sheet`;
    ``meta`` as leading lines; ``personal``: keep :data:`PERSONAL_COLUMNS`)."""
    from .io.writers import write_csv

    return write_csv(layer_sheet(df, table, personal=personal), dialect="for_people", meta=meta,
                     coord_decimals=REIMPORT_DECIMALS)


def layer_geojson(df, table: str, *, meta=None, personal: bool = False) -> bytes:
    """One layer with geometry as GeoJSON (the store's columns and codes, which the importer reads back;
    ``meta`` (:func:`layer_meta`) as the top-level ``"metadata"`` member; ``personal`` as for :func:`layer_csv`)."""
    from .io.writers import write_geojson

    return write_geojson(df if personal else without_personal(df, table), meta=meta,
                         coord_decimals=REIMPORT_DECIMALS)


#: file formats :func:`export_bytes` writes: the whole store, or one layer
FORMATS = (".gpkg", ".xlsx", ".csv", ".geojson")


def check_request(suffix: str, layer: str | None) -> None:
    """Raise :class:`GeoError` unless ``suffix`` (``.gpkg`` or a layer format) and ``layer`` make an export."""
    suffix = suffix.lower()
    if suffix not in FORMATS:
        raise GeoError(f"不支持的导出格式“{suffix}”（支持 gpkg、xlsx、csv、geojson）。",
                       f"unsupported export format {suffix!r} (gpkg, xlsx, csv, geojson)")
    if suffix != ".gpkg" and not layer:
        raise GeoError("导出单个图层须指定 --layer。", "--layer is required for .xlsx, .csv and .geojson")
    if suffix != ".gpkg" and layer not in TABLES:
        raise GeoError(f"没有“{layer}”这个图层。", f"no table {layer!r}")
    if suffix == ".geojson" and not TABLES[layer].geometry:
        raise GeoError(f"“{layer}”没有几何，不能导出为 GeoJSON。", f"{layer} has no geometry")


def export_bytes(store, suffix: str, layer: str | None = None, *, generated_by: str | None = None,
                 personal: bool = True) -> bytes:
    """The whole store as a GeoPackage (``.gpkg``) or ``layer`` as ``.xlsx``, ``.csv`` or ``.geojson`` bytes.

    xlsx, CSV and GeoJSON state what they are (:func:`layer_meta`: the store's as-of date and data version).
    ``personal`` (default: the command line's complete export) keeps :data:`PERSONAL_COLUMNS`."""
    check_request(suffix, layer)
    suffix = suffix.lower()
    if suffix == ".gpkg":
        return store_gpkg_bytes(store, personal=personal)
    df = store.read(layer)
    as_of = store.meta().get("as_of") or None
    meta = layer_meta(layer, len(df), as_of=as_of, data_version=store.version(), generated_by=generated_by)
    if suffix == ".xlsx":
        return layer_xlsx(df, layer, meta=meta, personal=personal)
    if suffix == ".csv":
        return layer_csv(df, layer, meta=meta, personal=personal)
    return layer_geojson(df, layer, meta=meta, personal=personal)
