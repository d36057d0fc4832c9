"""Finding sites by name or id, and reading the rows inside a box, in the database (issue 13).

Shared by both backends (:mod:`geo.store.gpkg`, :mod:`geo.store.postgis`) so they give the same
answers: the user's text becomes one ``LIKE`` pattern with its wildcards escaped (``%`` and ``_``
typed by a user are literal characters, ``\\`` is the escape), passed as a parameter, never
formatted into SQL. Matching is case-insensitive for ASCII letters on both backends (SQLite's
``LIKE``; PostgreSQL compares ``lower()`` of both sides). Matches are ranked the same way on both:
the id equal to the text, then ids starting with it, then ids or names containing it; ties by layer
(in :data:`SEARCH_LAYERS` order) and id in code-point order (``COLLATE "C"`` on PostgreSQL).
"""
from __future__ import annotations

import pandas as pd

#: The layers a user picks sites from (patrol stops, the site file, status updates).
SEARCH_LAYERS = ("enterprises", "kilns", "farms", "sampling_points")
#: How many matches one search returns at most.
SEARCH_LIMIT = 50
#: Longer search texts are cut to this many characters (a name or id is never longer).
MAX_QUERY = 100
ESCAPE = "\\"
COLUMNS = ["layer", "id", "name"]


def clean_query(text) -> str:
    """The search text as searched: ``None`` → empty, surrounding blanks removed, at most :data:`MAX_QUERY` chars."""
    return ("" if text is None else str(text)).strip()[:MAX_QUERY]


def like_pattern(text: str) -> str:
    """``%text%`` with ``\\``, ``%`` and ``_`` of the text escaped: the text matches only itself."""
    t = text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
    return f"%{t}%"


def prefix_pattern(text: str) -> str:
    """``text%`` escaped as :func:`like_pattern` (ids starting with the text rank first)."""
    return like_pattern(text)[1:]


def check_layers(layers, present) -> list[str]:
    """The search layers among ``layers`` that the store holds, in :data:`SEARCH_LAYERS` order."""
    wanted = set(layers)
    unknown = wanted - set(SEARCH_LAYERS)
    if unknown:
        from ..errors import StoreError

        raise StoreError(f"not a searchable layer: {sorted(unknown)}")
    return [t for t in SEARCH_LAYERS if t in wanted and t in present]


def check_limit(limit) -> int:
    """``limit`` as an int between 1 and 1000 (the caller's page shows a few dozen)."""
    n = int(limit)
    return max(1, min(n, 1000))


def search_statement(tables: list[tuple[str, bool]], text: str, limit: int, *, dialect: str
                     ) -> tuple[str, list]:
    """The one search query of both backends and its parameters.

    Parameters
    ----------
    tables
        ``(table, has_name)`` for each layer searched, in :data:`SEARCH_LAYERS` order (only names from
        that fixed list are formatted into the SQL; the text and the limit are parameters).
    text, limit
        The cleaned search text (:func:`clean_query`; empty: the first sites) and the largest answer.
    dialect
        ``sqlite`` (``?`` parameters; ``LIKE`` is ASCII-case-insensitive) or ``postgres`` (``%s``;
        both sides ``lower()``-ed, ids ordered ``COLLATE "C"`` as SQLite's binary order).
    """
    if dialect not in ("sqlite", "postgres"):
        raise ValueError(dialect)
    pg = dialect == "postgres"
    p = "%s" if pg else "?"
    ident = 'CAST("id" AS text)'
    order_id = 'id COLLATE "C"' if pg else "id"

    def ci(expr: str) -> str:
        return f"lower({expr})" if pg else expr

    parts, params = [], []
    for k, (table, has_name) in enumerate(tables):
        if table not in SEARCH_LAYERS:
            raise ValueError(table)
        name = '"name"' if has_name else "NULL"
        if text:
            rank = (f"CASE WHEN {ident} = {p} THEN 0 WHEN {ci(ident)} LIKE {ci(p)} ESCAPE '\\' THEN 1 "
                    "ELSE 2 END")
            cond = (f" WHERE {ci(ident)} LIKE {ci(p)} ESCAPE '\\'"
                    + (f" OR {ci(name)} LIKE {ci(p)} ESCAPE '\\'" if has_name else ""))
            params += [table, text, prefix_pattern(text), like_pattern(text)]
            params += [like_pattern(text)] if has_name else []
        else:
            rank, cond = "2", ""
            params += [table]
        params.append(limit)
        parts.append(f"SELECT * FROM (SELECT CAST({p} AS text) AS layer, {ident} AS id, "
                     f"CAST({name} AS text) AS name, {k} AS o, {rank} AS r FROM \"{table}\"{cond} "
                     f"ORDER BY r, {order_id} LIMIT {p}) AS s{k}")
    sql = (f"SELECT layer, id, name FROM ({' UNION ALL '.join(parts)}) AS u "
           f"ORDER BY r, o, {order_id} LIMIT {p}")
    return sql, params + [limit]


def within_bbox(df, bbox) -> pd.DataFrame:
    """The rows of ``df`` whose geometry meets the box (the exact test after an index's candidates)."""
    import shapely

    if not len(df):
        return df
    keep = shapely.intersects(df.geometry.values, shapely.box(*bbox))
    return df[keep].reset_index(drop=True)


def frame(rows) -> pd.DataFrame:
    """Rows starting (layer, id, name) as the search's answer (``id`` and ``name`` as text)."""
    df = pd.DataFrame([tuple(r)[:3] for r in rows], columns=COLUMNS, dtype=object)
    df["id"] = df["id"].astype(str)
    df["name"] = df["name"].where(df["name"].notna(), "").astype(str)
    return df.reset_index(drop=True)


def check_bbox(bbox) -> tuple[float, float, float, float]:
    """``(minx, miny, maxx, maxy)`` as four finite floats in order (degrees, EPSG:4326)."""
    import math

    from ..errors import StoreError

    try:
        b = tuple(float(v) for v in bbox)
    except (TypeError, ValueError):
        raise StoreError(f"a bounding box is four numbers, not {bbox!r}") from None
    if len(b) != 4 or not all(math.isfinite(v) for v in b) or b[0] > b[2] or b[1] > b[3]:
        raise StoreError(f"a bounding box is (minx, miny, maxx, maxy), not {bbox!r}")
    return b
