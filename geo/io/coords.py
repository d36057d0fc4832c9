"""Coordinates as bureau spreadsheets hold them: split degree/minute/second columns and Gauss–Krüger metres.

Split columns
-------------
Forms of the environmental statistics (环统) and the pollution-source census (污普) give a site's position in
six columns: ``经度(度)``, ``经度(分)``, ``经度(秒)``, ``纬度(度)``… (also written ``经度度``, ``经度_度``,
``东经(度)``, ``地理位置经度(度)``, or flattened two-level headers ``经度/度``, ``地理坐标/经度/度``).
:func:`split_dms_columns` finds them; :func:`combine_dms` turns the three cells of each row into decimal
degrees, marking the rows that cannot be read.

Gauss–Krüger metres
-------------------
Surveyed ledgers give CGCS2000 Gauss–Krüger X (northing) and Y (easting) in metres, in either column order.
:func:`detect_projected` tells the projection from the magnitudes: a northing in China is 1.9e6–6.0e6 m; an
easting is 100 km–900 km (false easting 500 km), or the same behind a zone prefix (6° zones 13–23, 3° zones
25–45: ``40 5xx xxx`` is 3° zone 40). Without a prefix the central meridian is not in the numbers: it is
chosen by where the points land (the district's box), and refused when two meridians or none fit; it is never
guessed. :func:`projected_to_lonlat` converts with pyproj. CGCS2000 lon/lat are taken as WGS84 (the data
contract: they agree within a metre).
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyproj

from ..errors import GeoError
from .cells import parse_number

__all__ = ["split_dms_columns", "combine_dms", "Projected", "detect_projected", "projected_to_lonlat",
           "projected_rows", "parse_zone"]


# --- split degree / minute / second columns --------------------------------------------------------

_AXIS_WORDS = {"经度": "lon", "东经": "lon", "西经": "lon", "纬度": "lat", "北纬": "lat", "南纬": "lat"}
_AXIS_EN = {"longitude": "lon", "long": "lon", "lon": "lon", "lng": "lon", "latitude": "lat", "lat": "lat"}
_UNIT_WORDS = {"度": 0, "°": 0, "分": 1, "′": 1, "'": 1, "秒": 2, "′′": 2, "''": 2, '"': 2,
               "deg": 0, "degree": 0, "degrees": 0, "min": 1, "minute": 1, "minutes": 1,
               "sec": 2, "second": 2, "seconds": 2}
# Brackets, spaces and the joiners of flattened two-level headers carry no meaning: 经度（度）, 经度_度,
# 经度/度 and 经度 度 are one header.
_HEADER_JUNK = re.compile(r"[\s()\[\]{}<>【】《》〔〕/\\|_\-.,:;、·]+")
_MANGLED = re.compile(r"\.\d+$")  # pandas renames a repeated header 度 → 度.1
_HEADER_ZH = re.compile(r"^(?P<prefix>.*?)(?P<axis>经度|纬度|东经|西经|北纬|南纬)"
                        r"(?P<unit>度|分|秒|°|′′|′|''|'|\")$")
_HEADER_EN = re.compile(r"^(?P<axis>longitude|long|lon|lng|latitude|lat)"
                        r"(?P<unit>degrees|degree|deg|minutes|minute|min|seconds|second|sec)$")


def _header_part(header) -> tuple[str, str, int] | None:
    """``(prefix, axis, unit index)`` of a split-coordinate header (0 = 度, 1 = 分, 2 = 秒), or ``None``."""
    h = unicodedata.normalize("NFKC", str(header)).strip().lower()
    h = _HEADER_JUNK.sub("", _MANGLED.sub("", h))
    m = _HEADER_ZH.match(h)
    if m:
        return m["prefix"], _AXIS_WORDS[m["axis"]], _UNIT_WORDS[m["unit"]]
    m = _HEADER_EN.match(h)
    if m:
        return "", _AXIS_EN[m["axis"]], _UNIT_WORDS[m["unit"]]
    return None


def split_dms_columns(headers: list[str]) -> dict[str, tuple[str, str | None, str | None]]:
    """The degree, minute and second columns of longitude and latitude, where a table splits them.

    Parameters
    ----------
    headers : the table's headers as read.

    Returns
    -------
    dict
        ``{"lon": (degrees, minutes, seconds), "lat": (...)}`` with the headers as given; minutes and seconds
        are ``None`` when the table has no such column. An axis without a degrees column is left out; the dict
        is empty when the table has no split columns (``经度`` alone is an ordinary column).

    Notes
    -----
    Headers are compared after NFKC, lower case, without brackets, spaces and level joiners, so ``经度（度）``,
    ``经度 (度)``, ``经度_度``, ``经度度``, ``经度/度`` and ``地理坐标/经度/度`` all name longitude degrees.
    Words before 经度/纬度 (``地理位置``, ``中心``) group columns: when a form has several groups (a site's
    position and its outfall's), the first group in header order that has both axes is taken.
    """
    groups: dict[tuple[str, str], list[str | None]] = {}
    for h in headers:
        part = _header_part(h)
        if part is None:
            continue
        prefix, axis, unit = part
        slots = groups.setdefault((prefix, axis), [None, None, None])
        if slots[unit] is None:  # the first of repeated headers counts
            slots[unit] = h
    complete = [key for key, slots in groups.items() if slots[0] is not None]
    out: dict[str, tuple[str, str | None, str | None]] = {}
    for prefix, _ in complete:
        if (prefix, "lon") in complete and (prefix, "lat") in complete:
            return {axis: tuple(groups[(prefix, axis)]) for axis in ("lon", "lat")}
    for prefix, axis in complete:
        out.setdefault(axis, tuple(groups[(prefix, axis)]))
    return out


def _cell_numbers(cells, n: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(values, blank, bad)`` of a column of cells: numbers, numeric text (full-width too), blanks."""
    if cells is None:  # the column is absent: every cell blank
        return np.full(n, np.nan), np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    ser = pd.Series(np.array(cells, dtype=object, ndmin=1).ravel(), dtype=object)
    is_text = ser.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    is_bool = ser.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
    blank = ser.isna().to_numpy(dtype=bool, copy=True)
    if is_text.any():
        blank[is_text] = ser[is_text].str.strip().eq("").to_numpy(dtype=bool)
    values = pd.to_numeric(ser.where(~(blank | is_bool), None), errors="coerce").to_numpy(dtype=float, copy=True)
    # The C parser leaves full-width digits and 1,570-style text; the one cell parser reads those.
    retry = np.flatnonzero(np.isnan(values) & ~blank & ~is_bool)
    for i in retry:
        v = parse_number(ser.iat[i])
        values[i] = np.nan if v is None else v
    bad = ~blank & ~np.isfinite(values)
    values[bad] = np.nan
    return values, blank, bad


def combine_dms(deg, minutes=None, seconds=None) -> tuple[np.ndarray, np.ndarray]:
    """Decimal degrees from the degree, minute and second cells of each row.

    Parameters
    ----------
    deg, minutes, seconds : array-like of cells (numbers, numeric strings, blanks), one per row; ``minutes``
        and ``seconds`` may be ``None`` when the table has no such column.

    Returns
    -------
    values : np.ndarray of float
        ``deg + minutes/60 + seconds/3600``; NaN where the row is bad or all three cells are blank.
    bad : np.ndarray of bool
        Where a cell is not a number, a part is negative, minutes or seconds are outside [0, 60), degrees exceed
        180, degrees are not whole while minutes or seconds follow, minutes are not whole while seconds follow,
        or minutes/seconds are given without degrees. A blank minute or second cell next to given parts counts as
        0 (forms leave zero cells empty); degrees alone may be decimal. Rows with every cell blank are not bad:
        a missing position is reported by the importer.
    """
    d, d_blank, d_bad = _cell_numbers(deg, None)
    n = d.size
    m, m_blank, m_bad = _cell_numbers(minutes, n)
    s, s_blank, s_bad = _cell_numbers(seconds, n)
    if not (m.size == s.size == n):
        raise GeoError("度、分、秒三列的行数不同。", "degree, minute and second columns differ in length")
    has_m, has_s = ~m_blank, ~s_blank
    m0, s0 = np.where(has_m, m, 0.0), np.where(has_s, s, 0.0)
    with np.errstate(invalid="ignore"):
        bad = d_bad | m_bad | s_bad
        bad |= d_blank & (has_m | has_s)
        bad |= (d < 0) | (m0 < 0) | (s0 < 0) | (d > 180)
        bad |= (m0 >= 60) | (s0 >= 60)
        bad |= (has_m | has_s) & (d != np.floor(d))
        bad |= has_s & has_m & (m != np.floor(m))
    values = d + m0 / 60.0 + s0 / 3600.0
    values[bad | d_blank] = np.nan
    return values, bad


# --- Gauss–Krüger metres ---------------------------------------------------------------------------

NORTHING_RANGE = (1.9e6, 6.0e6)   #: northings of China's mainland and Hainan, metres
EASTING_RANGE = (1.0e5, 9.0e5)    #: eastings without the zone prefix (500 km false easting ± 400 km)
ZONES_6 = range(13, 24)           #: 6° zones of China (CM 75°E–135°E), prefix 13–23
ZONES_3 = range(25, 46)           #: 3° zones of China (CM 75°E–135°E), prefix 25–45
CENTRAL_MERIDIANS = range(75, 136, 3)  #: every 3° CM; the 6° CMs (75, 81, …, 135) are among them
FIT_MARGIN_DEG = 0.2              #: how far outside the district's box a point may land and still fit


@dataclass(frozen=True)
class Projected:
    """A CGCS2000 Gauss–Krüger projection as detected in two coordinate columns.

    Attributes
    ----------
    epsg : the EPSG code (4491–4501 6° with prefix, 4502–4512 6° CM-named, 4513–4533 3° with prefix,
        4534–4554 3° CM-named).
    zone_width : 3 or 6 (degrees).
    zone : the zone number (3°: CM/3; 6°: (CM+3)/6).
    central_meridian : degrees east.
    prefixed : whether eastings carry the zone number in front (``40 512 345.6``).
    swapped : whether the first column holds the easting (Y) rather than the northing (X).
    label : for people, e.g. ``CGCS2000 高斯-克吕格 3度带 第40带（中央经线120°，坐标含带号，EPSG:4528）``.
    """

    epsg: int
    zone_width: int
    zone: int
    central_meridian: int
    prefixed: bool
    swapped: bool
    label: str


def _epsg(width: int, cm: int, prefixed: bool) -> int:
    # The four CGCS2000 Gauss–Krüger series run west to east from CM 75°E (checked against pyproj's names
    # and parameters in tests/test_coords.py).
    if width == 6:
        return (4491 if prefixed else 4502) + (cm - 75) // 6
    return (4513 if prefixed else 4534) + (cm - 75) // 3


def _projected(width: int, cm: int, prefixed: bool, swapped: bool) -> Projected:
    zone = (cm + 3) // 6 if width == 6 else cm // 3
    epsg = _epsg(width, cm, prefixed)
    same = f"，与6度带第{(cm + 3) // 6}带相同" if width == 3 and not prefixed and cm % 6 == 3 else ""
    label = (f"CGCS2000 高斯-克吕格 {width}度带 第{zone}带（中央经线{cm}°{same}，"
             f"坐标{'含' if prefixed else '不含'}带号，EPSG:{epsg}）")
    return Projected(epsg, width, zone, cm, prefixed, swapped, label)


_ZONE_RE = re.compile(r"^(?:(3|6):(\d{1,2})|cm:?(\d{2,3})(?:\.0+)?(?:°|e)?)$")


def parse_zone(zone: str) -> tuple[int | None, int]:
    """``(zone width or None, central meridian)`` of a zone choice: ``"3:40"`` (3° zone 40), ``"6:20"``
    (6° zone 20) or ``"cm:120"`` (central meridian 120°E, a multiple of 3 in 75–135).

    Raises
    ------
    geo.errors.GeoError : the text is none of these, or names a zone or meridian outside China's.
    """
    z = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(zone))).lower()
    m = _ZONE_RE.match(z)
    hint = "写作 3:40（3度带第40带）、6:20（6度带第20带）或 cm:120（中央经线120°）"
    hint_en = "write 3:40 (3° zone 40), 6:20 (6° zone 20) or cm:120 (central meridian 120°E)"
    if not m:
        raise GeoError(f"无法识别的带号“{zone}”：{hint}。", f"unrecognised zone {zone!r}: {hint_en}")
    if m[3] is not None:
        cm = int(m[3])
        if cm not in CENTRAL_MERIDIANS:
            raise GeoError(f"中央经线 {cm}° 不是 CGCS2000 3度带或6度带的中央经线（75°–135°，3的倍数）。",
                           f"{cm}°E is not a central meridian of a CGCS2000 3° or 6° zone (75–135, multiple of 3)")
        return None, cm
    width, number = int(m[1]), int(m[2])
    zones = ZONES_3 if width == 3 else ZONES_6
    if number not in zones:
        raise GeoError(f"{width}度带没有第{number}带（我国为第{zones[0]}–{zones[-1]}带）。",
                       f"no {width}° zone {number} in China (zones {zones[0]}–{zones[-1]})")
    return width, (3 * number if width == 3 else 6 * number - 3)


def _prefix_zone(easting: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(zone, is prefixed)`` of eastings: the millions are the zone when 13–23 or 25–45 and the rest is an
    easting (zone 24 is neither a 6° nor a 3° zone of China)."""
    with np.errstate(invalid="ignore"):
        zone = np.floor(easting / 1e6)
        rest = easting - zone * 1e6
        ok = (np.isin(zone, ZONES_6) | np.isin(zone, ZONES_3)) & (rest >= EASTING_RANGE[0]) & (
            rest <= EASTING_RANGE[1])
    return np.where(ok, zone, 0).astype(int), ok


def _between(v: np.ndarray, lo_hi: tuple[float, float]) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (v >= lo_hi[0]) & (v <= lo_hi[1])


def _rows_text(mask: np.ndarray, limit: int = 5) -> str:
    """The first data rows (counted from 1 below the header) where ``mask`` holds, for a message."""
    rows = np.flatnonzero(mask)[:limit] + 1
    more = "…" if mask.sum() > limit else ""
    return "、".join(str(r) for r in rows) + more


def _row_problems(mask: np.ndarray) -> list[str]:
    return [f"第 {r} 条数据 / data row {r}" for r in np.flatnonzero(mask) + 1]


def _floats(a) -> np.ndarray:
    return np.array(a, dtype=float, ndmin=1).ravel()


def detect_projected(a, b, *, area_lonlat=None, zone: str | None = None) -> Projected | None:
    """Whether two coordinate columns hold CGCS2000 Gauss–Krüger metres, and in which zone.

    Parameters
    ----------
    a, b : float arrays of the two columns, in the file's order (X then Y, or Y then X).
    area_lonlat : ``(minlon, minlat, maxlon, maxlat)`` of the district (e.g. its townships' bounds); needed
        when the eastings have no zone prefix, to choose the central meridian that puts the points inside it
        (within :data:`FIT_MARGIN_DEG`).
    zone : a forced choice, ``"3:40"``, ``"6:20"`` or ``"cm:120"`` (:func:`parse_zone`); it must agree with
        a zone prefix in the data.

    Returns
    -------
    Projected or None
        ``None`` when no row looks like metres (the columns hold degrees, or nothing readable).

    Raises
    ------
    geo.errors.GeoError
        Rows mix degrees and metres, column orders, prefixed and unprefixed eastings, or zones; the zone
        cannot be told (no prefix and no ``area_lonlat``, or two central meridians fit, or none); ``zone``
        is malformed or contradicts the prefix.

    Notes
    -----
    Rows that are neither degrees nor metres (one value out of range, or 0/0 placeholders) do not decide anything;
    :func:`projected_to_lonlat` gives NaN for them. Without a prefix the 3° and the 6° zone of one central
    meridian (117°E: 6° zone 20, 3° zone 39) are the same projection; the 3° code is reported (``EPSG:4548``,
    the series of large-scale surveys) unless ``zone`` names the 6° zone.
    """
    forced = parse_zone(zone) if zone is not None else None
    a, b = _floats(a), _floats(b)
    if a.shape != b.shape:
        raise GeoError("两列坐标的行数不同。", "the two coordinate columns differ in length")
    finite = np.isfinite(a) & np.isfinite(b)
    # 0/0 is a placeholder typed for "unknown", not a position in degrees.
    degrees = finite & (np.abs(a) <= 180) & (np.abs(b) <= 180) & ~((a == 0) & (b == 0))
    za, pa = _prefix_zone(a)
    zb, pb = _prefix_zone(b)
    plain_a, plain_b = _between(a, EASTING_RANGE), _between(b, EASTING_RANGE)
    straight = finite & _between(a, NORTHING_RANGE) & (pb | plain_b)   # X (north) first, then Y (east)
    swapped_rows = finite & _between(b, NORTHING_RANGE) & (pa | plain_a)
    metres = straight | swapped_rows
    if not metres.any():
        return None
    if degrees.any():
        raise GeoError(f"坐标列中经纬度（度）与投影坐标（米）混用：第 {_rows_text(degrees)} 条数据像经纬度。",
                       f"the coordinate columns mix degrees and metres: data rows {_rows_text(degrees)} look "
                       "like degrees", problems=_row_problems(degrees))
    if straight.any() and swapped_rows.any():
        minority = straight if straight.sum() <= swapped_rows.sum() else swapped_rows
        raise GeoError(f"各行X、Y（北、东坐标）的先后顺序不一致：第 {_rows_text(minority)} 条数据与其他行相反。",
                       f"rows give northing and easting in different orders: data rows {_rows_text(minority)} "
                       "are the other way round", problems=_row_problems(minority))
    swapped = bool(swapped_rows.any())
    easting = a if swapped else b
    prefixed_rows = (pa if swapped else pb) & metres
    zones = (za if swapped else zb)[prefixed_rows]
    if prefixed_rows.any() and (metres & ~prefixed_rows).any():
        raise GeoError("部分行的横坐标（Y）含带号、部分不含，无法统一换算，请统一后再导入。",
                       "some eastings carry the zone prefix and others do not; make them consistent",
                       problems=_row_problems(metres & ~prefixed_rows))
    if prefixed_rows.any():
        found = sorted(set(zones.tolist()))
        if len(found) > 1:
            raise GeoError(f"横坐标（Y）的带号不一致（{'、'.join(map(str, found))}），请分开导入。",
                           f"eastings carry different zone prefixes ({', '.join(map(str, found))})")
        return _prefixed(found[0], swapped, forced)
    if forced is not None:
        width, cm = forced
        return _projected(width or 3, cm, False, swapped)
    north = b if swapped else a
    cm = _fit_meridian(easting[metres], north[metres], area_lonlat)
    return _projected(3, cm, False, swapped)


def _prefixed(zone_no: int, swapped: bool, forced: tuple[int | None, int] | None) -> Projected:
    width = 6 if zone_no in ZONES_6 else 3
    cm = 6 * zone_no - 3 if width == 6 else 3 * zone_no
    if forced is not None and not (forced[1] == cm and forced[0] in (None, width)):
        fw, fcm = forced
        chosen = f"中央经线{fcm}°" if fw is None else f"{fw}度带（中央经线{fcm}°）"
        raise GeoError(f"所选{chosen}与坐标中的带号 {zone_no}（{width}度带，中央经线{cm}°）不符。",
                       f"the chosen zone (CM {fcm}°E) contradicts the zone prefix {zone_no} in the data "
                       f"({width}° zone, CM {cm}°E)")
    return _projected(width, cm, True, swapped)


def _fit_meridian(easting: np.ndarray, northing: np.ndarray, area_lonlat) -> int:
    """The one central meridian that puts most points inside ``area_lonlat``; GeoError when none or several."""
    ask = "请指定带号或中央经线（如 3:40 或 cm:120）"
    ask_en = "give the zone or central meridian (e.g. 3:40 or cm:120)"
    if area_lonlat is None:
        raise GeoError(f"投影坐标（米）不含带号，无法确定中央经线：{ask}。",
                       f"projected coordinates without a zone prefix: the central meridian is unknown; {ask_en}")
    box = np.array(area_lonlat, dtype=float).ravel()
    if box.size != 4 or not np.all(np.isfinite(box)) or box[0] > box[2] or box[1] > box[3]:
        raise GeoError("区域范围应为（最小经度, 最小纬度, 最大经度, 最大纬度）。",
                       "the area must be (minlon, minlat, maxlon, maxlat)")
    # Changing the central meridian of a transverse Mercator only shifts longitudes by the same amount (the
    # ellipsoid is symmetric about its axis), so one inverse projection serves every candidate.
    lon75, lat = _transformer(_epsg(3, 75, False)).transform(easting, northing)
    lo, hi = box[:2] - FIT_MARGIN_DEG, box[2:] + FIT_MARGIN_DEG
    lat_in = (lat >= lo[1]) & (lat <= hi[1])
    fits = []
    for cm in CENTRAL_MERIDIANS:
        lon = lon75 + (cm - 75)
        inside = lat_in & (lon >= lo[0]) & (lon <= hi[0])
        if inside.mean() > 0.5:  # most points; a few typed wrong are reported row by row later
            fits.append(cm)
    if not fits:
        raise GeoError(f"按任何中央经线换算，投影坐标都不在本区范围内：{ask}。",
                       f"with no central meridian do the projected coordinates fall inside the district; {ask_en}")
    if len(fits) > 1:
        names = "、".join(f"{c}°" for c in fits)
        raise GeoError(f"投影坐标不含带号，中央经线 {names} 都可能：{ask}。",
                       f"projected coordinates without a zone prefix fit central meridians "
                       f"{', '.join(f'{c}°E' for c in fits)}; {ask_en}")
    return fits[0]


@functools.lru_cache(maxsize=None)
def _transformer(epsg: int) -> pyproj.Transformer:
    # Inverse projection onto CGCS2000 lon/lat (EPSG:4490): no datum shift, CGCS2000 being taken as WGS84.
    # pyproj Transformers are thread-safe (pyproj ≥ 3.1), so one per code serves every page.
    return pyproj.Transformer.from_crs(epsg, 4490, always_xy=True)


def projected_rows(a, b, projected: Projected) -> np.ndarray:
    """Where a row's two values are a northing and an easting of ``projected`` (its order, prefix and zone)."""
    a, b = _floats(a), _floats(b)
    north, east = (b, a) if projected.swapped else (a, b)
    if projected.prefixed:
        zone, ok = _prefix_zone(east)
        east_ok = ok & (zone == projected.zone)
    else:
        east_ok = _between(east, EASTING_RANGE)
    return _between(north, NORTHING_RANGE) & east_ok


def projected_to_lonlat(a, b, projected: Projected) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude (CGCS2000, taken as WGS84) of the two columns as ``projected`` reads them.

    Rows that do not fit the projection (:func:`projected_rows`), blank ones included, are NaN.
    """
    a, b = _floats(a), _floats(b)
    north, east = (b, a) if projected.swapped else (a, b)
    ok = projected_rows(a, b, projected)
    lon, lat = np.full(a.shape, np.nan), np.full(a.shape, np.nan)
    if ok.any():
        lon[ok], lat[ok] = _transformer(projected.epsg).transform(east[ok], north[ok])
    return lon, lat
