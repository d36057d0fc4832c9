"""The anchor of ``bench/buffer_cli.py``: the riverside check as a GIS user writes it with GeoPandas.

    python bench/buffer_anchor.py STORE.gpkg OUT.csv [DISTANCE]

A plain, honest script (no Qingshan code): read the farms and the rivers, keep
the farms still under the rule (not closed or relocated), project them to the
UTM zone GeoPandas picks for the data, buffer each river by D plus half its
width and each reservoir or lake by D, spatial-join the farms to the buffers and
write each farm once with the water it touches. It is timed as a whole process, imports included.
"""
import sys

import geopandas as gpd
import pandas as pd

store, out = sys.argv[1], sys.argv[2]
distance = float(sys.argv[3]) if len(sys.argv) > 3 else 200.0

farms = gpd.read_file(store, layer="farms")
rivers = gpd.read_file(store, layer="rivers")
lakes = gpd.read_file(store, layer="waterbodies")
farms = farms[~farms["status"].isin(["closed", "relocated"])]
utm = rivers.estimate_utm_crs()
farms = farms.to_crs(utm)
rivers = rivers.to_crs(utm)
lakes = lakes.to_crs(utm)
zones = pd.concat([
    gpd.GeoDataFrame(rivers[["id", "name"]], geometry=rivers.buffer(distance + rivers["width_m"].fillna(0) / 2)),
    gpd.GeoDataFrame(lakes[["id", "name"]], geometry=lakes.buffer(distance)),
], ignore_index=True).set_crs(utm)
hits = gpd.sjoin(farms[["id", "name", "geometry"]], zones, predicate="intersects")
hits = hits.drop_duplicates("id_left")
hits = hits.rename(columns={"id_left": "id", "name_left": "name", "id_right": "water_id", "name_right": "water_name"})
hits[["id", "name", "water_id", "water_name"]].to_csv(out, index=False)
