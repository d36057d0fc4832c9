"""File formats (rank 1): read uploaded tables, parse cells, write every xlsx/CSV/GeoJSON the project emits.

- :mod:`geo.io.readers`: xlsx, xls, CSV (UTF-8/GBK/GB18030), GeoJSON, zipped Shapefile, GeoPackage, KML/KMZ,
  GPX (waypoints as rows; tracks by :func:`read_gpx_track`), with header matching (:mod:`geo.io.headers`) and
  the layout of bureau sheets (:mod:`geo.io.layout`: title rows, merged headers, 合计 rows, merged cells);
  XML through :mod:`geo.io.xmlsafe` (no DOCTYPE, no entities);
- :mod:`geo.io.cells`: dates, numbers, coordinates (every DMS spelling), detection limits, water classes, ids;
- :mod:`geo.io.coords`: 度/分/秒 in separate columns and Gauss–Krüger metres (zone from the magnitudes);
- :mod:`geo.io.writers`: the one writer, with the spreadsheet-formula guard built in;
- :mod:`geo.io.limits`: the input limits of ``qingshan.toml`` ``[limits]``, checked before anything is expanded.

This package imports only ``geo.errors``, ``geo.config`` (and third-party packages): callers pass their
vocabularies (header aliases, labels) in as parameters.
"""
from .limits import Limits
from .readers import Table, decode_text, match_headers, read_gpx_track, read_table
from .writers import Meta, write_csv, write_geojson, write_table, write_xlsx

__all__ = ["Limits", "Table", "decode_text", "match_headers", "read_gpx_track", "read_table", "Meta", "write_csv",
           "write_geojson", "write_table", "write_xlsx"]
