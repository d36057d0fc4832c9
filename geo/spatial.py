"""Spatial relations shared by several features: which township a site lies in."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely


def township_of(sites: gpd.GeoDataFrame, townships: gpd.GeoDataFrame, column: str = "name") -> pd.Series:
    """The township ``column`` (name by default) each site's point lies in; NA outside all.

    A point on a shared border goes to the first township in table order, so
    every site has exactly one township.
    """
    result = pd.Series(pd.NA, index=sites.index, dtype=object)
    if len(sites) == 0 or len(townships) == 0:
        return result
    tree = shapely.STRtree(townships.geometry.values)
    pts, polys = tree.query(sites.geometry.values, predicate="intersects")
    if len(pts):
        first = pd.DataFrame({"p": pts, "t": polys}).sort_values(["p", "t"]).drop_duplicates("p")
        result.iloc[first["p"].to_numpy()] = townships[column].to_numpy()[first["t"].to_numpy()]
    return result


def with_township(sites: gpd.GeoDataFrame, townships: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``sites`` with a ``township`` column (name) added."""
    out = sites.copy()
    out["township"] = township_of(sites, townships)
    return out


def lonlat(gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude arrays of a point layer."""
    return shapely.get_x(gdf.geometry.values), shapely.get_y(gdf.geometry.values)
