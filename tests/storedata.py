"""Small hand-built tables covering every contract table and type, for the store tests.

Includes what trips stores up: multi and single parts mixed, NULLs in every
kind of column, optional contract columns, a column beyond the contract,
Chinese text, hostile strings, and an event order decided by table order.
"""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

CRS = "EPSG:4326"
HOSTILE = "'); DROP TABLE enterprises; -- <script>alert(1)</script>"


def _sq(x, y, d=0.05):
    return shapely.box(x, y, x + d, y + d)


def sample_tables() -> dict[str, pd.DataFrame]:
    townships = gpd.GeoDataFrame(
        {"code": ["330803001", "330803100"], "name": ["樟潭街道", "上方镇"], "kind": ["街道", "镇"],
         "approximate": [True, False], "note": ["示意", None]},
        geometry=[_sq(118.90, 28.90, 0.1), shapely.MultiPolygon([_sq(119.00, 28.90), _sq(119.06, 28.90)])], crs=CRS)
    rivers = gpd.GeoDataFrame(
        {"id": ["r1", "r2"], "name": ["衢江", "溪"], "width_m": [120.0, 0.0]},
        geometry=[shapely.LineString([(118.90, 28.95), (119.10, 28.96)]),
                  shapely.MultiLineString([[(118.95, 28.90), (118.95, 28.93)], [(118.96, 28.93), (118.97, 28.99)]])],
        crs=CRS)
    waterbodies = gpd.GeoDataFrame(
        {"id": ["w1"], "name": ["乌溪江水库"], "kind": ["reservoir"]},
        geometry=[shapely.Polygon([(119.0, 28.8), (119.05, 28.8), (119.05, 28.85), (119.0, 28.8)])], crs=CRS)
    enterprises = gpd.GeoDataFrame(
        {"id": ["e1", "e2", "e3"], "name": ["衢州化工甲", HOSTILE, "丙厂"], "industry": ["化工", None, "造纸"],
         "status": ["committed", "closed", "operating"], "deadline": ["2007-09-30", None, None],
         "closed_on": [None, "2007-03-01", None], "park": ["沈家经济开发区", None, None],
         "committed_on": ["2007-04-10", None, None], "contact": ["张三", "李四", None]},
        geometry=[shapely.Point(118.91, 28.91), shapely.Point(118.92, 28.93), shapely.Point(118.95, 28.97)], crs=CRS)
    kilns = gpd.GeoDataFrame(
        {"id": ["k1", "k2"], "name": ["石灰窑1", "钙棚2"], "village": ["上方村", None], "kind": ["kiln", "shed"],
         "status": ["closed", "operating"], "closed_on": ["2007-02-06", None]},
        geometry=[shapely.Point(119.01, 28.91), shapely.Point(119.07, 28.92)], crs=CRS)
    farms = gpd.GeoDataFrame(
        {"id": ["f1", "f2"], "name": ["养猪场一", "养猪场二"], "species": ["猪", "猪"], "head_count": [800, None],
         "status": ["treating", "operating"], "deadline": ["2007-09-30", None]},
        geometry=[shapely.Point(118.93, 28.94), shapely.Point(119.02, 28.92)], crs=CRS)
    points = gpd.GeoDataFrame(
        {"id": ["p1", "p2"], "name": ["樟潭断面", "排口1"], "kind": ["section", "outfall"],
         "waterbody": ["river", "river"], "target_class": [3, 4]},
        geometry=[shapely.Point(118.94, 28.951), shapely.Point(118.91, 28.949)], crs=CRS)
    readings = pd.DataFrame(
        {"point_id": ["p1", "p1", "p1", "p2", "p1"],
         "sampled_at": ["2007-05-01 09:00", "2007-06-01 09:30", "2007-06-01 09:30", "2007-06-02 10:00",
                        "2007-06-15 08:15:30"],
         "parameter": ["COD", "COD", "NH3-N", "COD", "NH3-N"], "value": [18.0, 22.5, 0.8, 35.0, 0.05],
         "unit": ["mg/L", "mg/L", "mg/L", None, "mg/L"], "below_detection": [False, False, False, None, True]})
    events = pd.DataFrame(
        {"layer": ["enterprises", "enterprises", "enterprises", "kilns", "kilns", "farms", "farms",
                   "enterprises", "enterprises"],
         "feature_id": ["e1", "e1", "e2", "k1", "k2", "f1", "f2", "e3", "e3"],
         "status": ["operating", "committed", "closed", "closed", "operating", "treating", "operating",
                    "suspended", "operating"],
         "effective_on": ["2007-01-01", "2007-04-10", "2007-03-01", "2007-02-06", "2007-01-01", "2007-03-15",
                          "2007-01-01", "2007-05-01", "2007-05-01"],
         # e3: two events on one day, same time: table order decides (operating is the later one)
         "recorded_at": ["2007-01-02 08:00", "2007-04-10 16:00", "2007-03-01 12:00", None, "2007-01-01 00:00",
                         "2007-03-15 09:00", None, "2007-05-01 10:00", "2007-05-01 10:00"],
         "recorded_by": ["demo", "王", "demo", None, "demo", "demo", "demo", "demo", HOSTILE],
         "note": [None, "签订承诺", None, None, None, None, None, None, None]})
    meta = pd.DataFrame({"key": ["as_of", "district"], "value": ["2007-06-30", "衢江区"]})
    return {"townships": townships, "rivers": rivers, "waterbodies": waterbodies, "enterprises": enterprises,
            "kilns": kilns, "farms": farms, "sampling_points": points, "readings": readings,
            "status_events": events, "meta": meta, "section_classes": section_classes(), "edits": edits(),
            **casework_tables()}


def edits() -> pd.DataFrame:
    """Recorded field changes: a move (metres), a rename to a hostile name, a value cleared."""
    return pd.DataFrame(
        {"layer": ["farms", "enterprises", "kilns"], "feature_id": ["f1", "e1", "k1"],
         "field": ["geometry", "name", "village"], "old": ["118.9000000, 29.0000000", "甲厂", "上方村"],
         "new": ["118.9100000, 29.0000000", HOSTILE, None], "moved_m": [972.3, None, None],
         "source": ["导入 f.csv 第2行；坐标系 WGS84", "导入 e.csv 第3行；坐标系 GCJ02→WGS84", None],
         "recorded_at": ["2007-06-30 10:00", "2007-06-30 10:05", None], "recorded_by": ["张三", HOSTILE, None]})


def section_classes() -> pd.DataFrame:
    """Published monthly classes: one worse than Ⅴ with its exceeding items as written, one without a target."""
    return pd.DataFrame(
        {"point_id": ["p1", "p1", "p2"], "month": ["2007-05-01", "2007-06-01", "2007-06-01"],
         "water_class": [3, 6, 4], "target_class": [3, 3, None], "exceeding": [None, "总磷(0.2)、氨氮(1.5)", HOSTILE],
         "source": ["2007年5月.xlsx", "2007年6月.xlsx", "2007年6月.xlsx"], "recorded_by": ["张三", "张三", None],
         "recorded_at": ["2007-06-05 09:00", "2007-07-03 09:00", None]})


#: Binary contents that trip text handling: NUL bytes, every byte value, invalid UTF-8, empty.
BLOBS = [bytes(range(256)) * 4, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"\xff\xfe\x00'); --", b""]


def casework_tables() -> dict[str, pd.DataFrame]:
    """Complaints, inspections, visits, attachments (binary content) and assessment entries."""
    import hashlib

    complaints = gpd.GeoDataFrame(
        {"id": ["c1", "c2", "c3"], "received_on": ["2007-01-05", "2007-02-10", "2007-06-29"],
         "channel": ["province", "hotline", "letter"], "category": ["water", "odour", "noise"],
         "summary": ["河水发黑", HOSTILE, "夜间噪声"], "due_on": ["2007-01-20", "2007-02-10", "2007-07-14"],
         "handled_on": ["2007-01-18", "2007-02-10", None], "result": ["已责令整改", "当日查处", None],
         "sensitive": [False, True, False], "layer": ["enterprises", "farms", None], "feature_id": ["e1", "f1", None],
         "recorded_by": ["王", "demo", None]},
        geometry=[shapely.Point(118.91, 28.91), shapely.Point(118.93, 28.94), shapely.Point(119.0, 28.95)], crs=CRS)
    inspections = pd.DataFrame(
        {"id": ["i1", "i2"], "held_on": ["2007-03-01", "2007-03-16"], "kind": ["joint", "sampling"],
         "departments": ["环保局、开发区管委会、安监局、经贸局", None], "team": ["第一组", None], "note": [None, "周采样"]})
    visits = gpd.GeoDataFrame(
        {"id": ["i1-01", "i1-02", "i2-01"], "inspection_id": ["i1", "i1", "i2"],
         "layer": ["enterprises", "kilns", "enterprises"], "feature_id": ["e1", "k1", "e1"],
         "visited_at": ["2007-03-01 09:30", "2007-03-01 11:00", None], "finding": ["violation", "closed_confirmed", None],
         "note": ["偷排", None, None], "recorded_by": ["李", "李", None], "seq": [1, 2, 1]},
        geometry=[shapely.Point(118.91, 28.91), shapely.Point(119.01, 28.91), shapely.Point(118.91, 28.91)], crs=CRS)
    attachments = pd.DataFrame(
        {"id": [f"a{i + 1}" for i in range(len(BLOBS))], "layer": ["enterprises", "enterprises", "complaints",
                                                                  "inspection_visits"],
         "feature_id": ["e1", "e2", "c1", "i1-01"], "name": ["证据.bin", "照片.png", HOSTILE, "空.pdf"],
         "mime": ["application/pdf", "image/png", "image/jpeg", "application/pdf"],
         "size": [len(b) for b in BLOBS], "sha256": [hashlib.sha256(b).hexdigest() for b in BLOBS],
         "content": pd.Series(BLOBS, dtype=object),
         "uploaded_at": ["2007-03-01 10:00", "2007-03-02 10:00", "2007-03-03 10:00", None],
         "uploaded_by": ["李", "李", "王", None], "note": [None, "现场照片", None, None]})
    entries = pd.DataFrame(
        {"year": [2007, 2007, 2007], "unit": ["330803001", "330803100", "环保局"],
         "item": ["org_meeting", "org_meeting", "veto_incident"], "score": [4.0, 2.5, 0.0],
         "note": ["按期召开", None, HOSTILE], "entered_by": ["考核办", "考核办", None],
         "entered_at": ["2007-06-20 09:00", "2007-06-20 09:05", None]})
    return {"complaints": complaints, "inspections": inspections, "inspection_visits": visits,
            "attachments": attachments, "assessment_entries": entries}


def sorted_frame(df: pd.DataFrame, key: str | list[str] | None = None) -> pd.DataFrame:
    """``df`` with columns by name and rows by ``key`` (or by every non-geometry column): order-free comparison."""
    cols = sorted(df.columns)
    out = df[cols]
    by = [key] if isinstance(key, str) else key or [c for c in cols if c != "geometry"]
    return out.sort_values(by, kind="stable").reset_index(drop=True)
