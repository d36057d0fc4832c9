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
            "status_events": events, "meta": meta}


def sorted_frame(df: pd.DataFrame, key: str | list[str] | None = None) -> pd.DataFrame:
    """``df`` with columns by name and rows by ``key`` (or by every non-geometry column): order-free comparison."""
    cols = sorted(df.columns)
    out = df[cols]
    by = [key] if isinstance(key, str) else key or [c for c in cols if c != "geometry"]
    return out.sort_values(by, kind="stable").reset_index(drop=True)
