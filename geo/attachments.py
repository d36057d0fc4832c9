"""Attachments: documents and photos stored in the store itself (``attachments`` table, binary content).

Both backends carry them (GeoPackage BLOB, PostGIS bytea), so a copied store
keeps its files. What is accepted is decided from the bytes, not from the name
or the type a browser claims: JPEG, PNG, WebP images and PDF documents, up to
a size limit (``[attachments] max_bytes`` and ``types`` in ``qingshan.toml``).
A name is only a label: it is reduced to its last path part, its extension is
the one of the type found in the bytes (:func:`safe_name`), and it is never
used to open anything.

Hostile files (issue 26). An image's width and height are read from its header
(PNG ``IHDR``, JPEG ``SOF``, WebP ``VP8``/``VP8L``/``VP8X``) before anything is
decoded, and an image of more than ``[attachments] max_pixels`` pixels is
refused; so is an image that cannot be decoded whole (a truncated PNG is found
from its chunks, without decoding). A PDF of more than ``max_pdf_pages`` pages
is refused. One save takes at most ``max_files`` files of ``max_total_bytes``
together (:func:`prepare_all`).

Thumbnails are made once, at upload, and stored in the row (``thumb``: a PNG,
``b""`` when the file has none); rows stored before that get theirs the first
time they are shown (:func:`with_thumbs`). Pages list attachments without their
content (:func:`listing`) and read one file's bytes only to hand it out
(:func:`content_of`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import re
import shutil
import struct
import subprocess
import unicodedata
from typing import Iterable

import pandas as pd

from . import config
from .contract import ATTACHMENT_LAYERS, TABLES
from .errors import GeoError, LimitError, StoreError

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
#: Most pixels (width × height) an image may have: 40 MP is a large phone photo; decoding one takes ~160 MB.
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_PDF_PAGES = 500
#: Files and bytes one save may bring (a site's or a stop's photos are added a few at a time).
DEFAULT_MAX_FILES = 10
DEFAULT_MAX_TOTAL_BYTES = 50 * 1024 * 1024
#: mime type → Chinese label; the default set of accepted types.
TYPES = {"image/jpeg": "JPEG 图片", "image/png": "PNG 图片", "image/webp": "WebP 图片", "application/pdf": "PDF 文档"}
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
THUMB_PX = 320
#: Longest a PDF's first page may take to draw (a hostile file must not hang a page).
PDF_PREVIEW_SECONDS = 15
#: Address space poppler's tools may use (``ulimit -v``): a hostile PDF fails to draw instead of eating the server.
POPPLER_MEMORY_MB = 1024
#: The stored ``thumb`` of a file that has none (a document without preview, a damaged old image).
NO_THUMB = b""

#: The type of an inspection's GPS track (GPX), stored beside its photos: never shown inline, never executed.
TRACK_MIME = "application/gpx+xml"
#: The extension a stored name gets for each type, and the spellings of it a name may keep.
EXTENSIONS = {"image/jpeg": (".jpg", ".jpeg"), "image/png": (".png",), "image/webp": (".webp",),
              "application/pdf": (".pdf",), TRACK_MIME: (".gpx",)}
_PIL_FORMAT = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
#: Names Windows gives to devices: a download saved as ``CON.jpg`` cannot be opened there.
_DEVICE_NAMES = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
#: Columns a page lists: every attachments column but the file itself.
META_COLUMNS = tuple(c for c in TABLES["attachments"].column_names if c != "content")
_MB = 1024 * 1024


# --- settings --------------------------------------------------------------------------------

def max_bytes() -> int:
    return int(config.get("attachments", "max_bytes", DEFAULT_MAX_BYTES))


def max_pixels() -> int:
    """``[attachments] max_pixels``: most pixels (width × height) an accepted image may have."""
    return int(config.get("attachments", "max_pixels", DEFAULT_MAX_PIXELS))


def max_pdf_pages() -> int:
    """``[attachments] max_pdf_pages``: most pages an accepted PDF may have."""
    return int(config.get("attachments", "max_pdf_pages", DEFAULT_MAX_PDF_PAGES))


def max_files() -> int:
    """``[attachments] max_files``: most files one save may bring."""
    return int(config.get("attachments", "max_files", DEFAULT_MAX_FILES))


def max_total_bytes() -> int:
    """``[attachments] max_total_bytes``: most bytes the files of one save may have together."""
    return int(config.get("attachments", "max_total_bytes", DEFAULT_MAX_TOTAL_BYTES))


def allowed_types() -> tuple[str, ...]:
    types = config.get("attachments", "types", list(TYPES))
    return tuple(t for t in types if t in TYPES)


def limits_text() -> str:
    """The limits of one save, in Chinese, as the checks apply them (for an upload box's label)."""
    return (f"每次最多 {max_files()} 个文件，单个不超过 {_mb(max_bytes())}，合计不超过 {_mb(max_total_bytes())}；"
            f"图片不超过 {max_pixels() / 1e6:g} 百万像素，PDF 不超过 {max_pdf_pages()} 页")


def _mb(n: int) -> str:
    return f"{n / _MB:g} MB"


# --- what a file is ----------------------------------------------------------------------------

def sniff(data: bytes) -> str | None:
    """The type of ``data`` from its first bytes (``None`` when not one of :data:`TYPES`)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:1024].lstrip().startswith(b"%PDF-"):
        return "application/pdf"
    return None


def _label(name) -> str:
    """The last path part of ``name`` without control characters (for messages; no extension added)."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", str(name or "")))[-1]
    return "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()[:120]


def safe_name(name: str, mime: str) -> str:
    """The stored and downloaded name: the last path part, cleaned, with the extension of ``mime``.

    Control and format characters (e.g. the right-to-left override) are removed, characters Windows
    refuses in names become ``_``, trailing dots and spaces go (Windows drops them, turning
    ``a.exe.`` into ``a.exe``), and the extension is the one of the type found in the bytes: the
    uploader's own extension stays only when it names that type (``现场.JPEG`` stays, ``报告.html``
    of JPEG bytes becomes ``报告.jpg``, ``invoice.pdf.exe`` becomes ``invoice.pdf.jpg``). At most
    120 characters.
    """
    exts = EXTENSIONS[mime]
    base = _label(name).lstrip(".")
    base = re.sub(r'[<>:"|?*]', "_", base).rstrip(" .")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    ext = "." + ext if dot else ""
    if ext.lower() not in exts:
        ext = exts[0]
    stem = stem.rstrip(" .") or "附件"
    if stem.split(".")[0].upper() in _DEVICE_NAMES:
        stem = "_" + stem
    return stem[: 120 - len(ext)] + ext


def download_as(name: str, mime: str) -> tuple[str, str]:
    """(file name, mime type) a stored attachment is handed out as: its name with the extension of its
    sniffed type (rows stored before names were fixed too); a type this module does not know goes out
    as ``application/octet-stream`` named ``….bin``, so no browser renders it."""
    if mime in EXTENSIONS:
        return safe_name(name, mime), mime
    stem = re.sub(r'[<>:"|?*]', "_", _label(name).lstrip(".")).rstrip(" .").rpartition(".")
    return (stem[0] or stem[2] or "附件")[:116] + ".bin", "application/octet-stream"


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a JPEG, PNG or WebP image read from its header alone; ``None`` when unreadable.

    For a WebP the largest of its canvas and of every frame it declares.
    """
    mime = sniff(data)
    if mime == "image/png":
        if len(data) < 24 or data[12:16] != b"IHDR":
            return None
        return struct.unpack(">II", data[16:24])
    if mime == "image/jpeg":
        return _jpeg_size(data)
    if mime == "image/webp":
        return _webp_size(data)
    return None


#: Start-of-frame markers (baseline, progressive, lossless, arithmetic): they carry the frame's size.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's first start-of-frame segment (segments before it skipped by length)."""
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, or a scan, before any frame header
            return None
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if length < 2:
            return None
        if marker in _SOF:
            if i + 9 > n:
                return None
            height = int.from_bytes(data[i + 5:i + 7], "big")
            width = int.from_bytes(data[i + 7:i + 9], "big")
            # a height of 0 defers it to a later DNL marker: no size to bound, so no size
            return (width, height) if width and height else None
        i += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    """(width, height): the largest the RIFF chunks of a WebP declare (canvas, still image, animation frames)."""
    sizes = []
    i, n = 12, len(data)
    while i + 8 <= n and len(sizes) < 10_000:
        kind, length = data[i:i + 4], struct.unpack("<I", data[i + 4:i + 8])[0]
        body = data[i + 8:i + 8 + min(length, 30)]
        if kind == b"VP8X" and len(body) >= 10:
            sizes.append((int.from_bytes(body[4:7], "little") + 1, int.from_bytes(body[7:10], "little") + 1))
        elif kind == b"VP8 " and len(body) >= 10 and body[3:6] == b"\x9d\x01\x2a":
            w, h = struct.unpack("<HH", body[6:10])
            sizes.append((w & 0x3FFF, h & 0x3FFF))
        elif kind == b"VP8L" and len(body) >= 5 and body[0] == 0x2F:
            bits = struct.unpack("<I", body[1:5])[0]
            sizes.append(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        elif kind == b"ANMF" and len(body) >= 12:
            sizes.append((int.from_bytes(body[6:9], "little") + 1, int.from_bytes(body[9:12], "little") + 1))
            i += 8 + 16  # an animation frame's own chunks follow its 16-byte header
            continue
        i += 8 + length + (length & 1)
    if not sizes:
        return None
    return max(w for w, _ in sizes), max(h for _, h in sizes)


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
#: Deflate compresses at most ~1032:1: image data needing more than this many times its compressed size
#: cannot be in the file (it is cut short, and a decoder would first allocate the whole image).
_DEFLATE_MAX_RATIO = 1100


def _png_damage(data: bytes) -> str | None:
    """Why a PNG cannot be whole, read from its chunks without decoding (``None`` when it may be)."""
    if len(data) < 33 or data[12:16] != b"IHDR" or struct.unpack(">I", data[8:12])[0] != 13:
        return "no IHDR"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    if colour not in _PNG_CHANNELS or depth not in (1, 2, 4, 8, 16):
        return "bad IHDR"
    i, n, idat, end = 8, len(data), 0, False
    while i + 8 <= n:
        length, kind = struct.unpack(">I4s", data[i:i + 8])
        if i + 12 + length > n:
            return "truncated chunk"
        if kind == b"IDAT":
            idat += length
        elif kind == b"IEND":
            end = True
            break
        i += 12 + length
    if not end:
        return "no IEND (truncated)"
    raw = height * (1 + math.ceil(width * _PNG_CHANNELS[colour] * depth / 8))
    if idat == 0 or idat * _DEFLATE_MAX_RATIO < raw:
        return "image data too short"
    return None


def check_image(data: bytes, name: str = "") -> tuple[int, int]:
    """(width, height) of an image, read from its header; raises before anything is decoded.

    :class:`LimitError` above :func:`max_pixels`; :class:`GeoError` when the header cannot be read or
    (PNG) the file is cut short.
    """
    label = _label(name) or "图片"
    size = image_size(data)
    if size is None or min(size) <= 0:
        raise GeoError(f"图片“{label}”无法读取（文件头损坏）。", "the image header cannot be read")
    w, h = size
    limit = max_pixels()
    if w * h > limit:
        raise LimitError(f"图片“{label}”像素过多（{w}×{h}，{w * h / 1e6:.0f} 百万像素；上限 {limit / 1e6:g} 百万像素）。",
                         f"image has too many pixels ({w}x{h} = {w * h}; limit {limit})")
    if sniff(data) == "image/png" and (why := _png_damage(data)):
        raise GeoError(f"图片“{label}”不完整或已损坏，无法读取。", f"the PNG image is damaged or incomplete ({why})")
    return w, h


# --- thumbnails -----------------------------------------------------------------------------

def _image_thumb(data: bytes, size: int = THUMB_PX, name: str = "") -> bytes:
    """A PNG thumbnail of an image, at most ``size`` pixels on its long side; raises :class:`GeoError`
    when the image is refused (:func:`check_image`) or cannot be decoded whole."""
    from PIL import Image

    mime = sniff(data)
    w, h = check_image(data, name)
    # PIL's own guard, on the same limit (it warns above it and refuses above twice it)
    Image.MAX_IMAGE_PIXELS = max_pixels()
    try:
        with Image.open(io.BytesIO(data), formats=[_PIL_FORMAT[mime]]) as im:
            if im.width * im.height > max(w * h, 1):  # the decoder read another size than the header
                raise ValueError(f"decoder size {im.size} differs from the header {(w, h)}")
            im.draft("RGB", (size, size))  # a JPEG is decoded at 1/2…1/8 scale when that suffices
            im.thumbnail((size, size))
            buf = io.BytesIO()
            im.convert("RGB").save(buf, format="PNG")
            return buf.getvalue()
    except Exception as exc:  # noqa: BLE001 - any decoder failure means the file is not a usable image
        raise GeoError(f"图片“{_label(name) or '图片'}”无法读取（文件不完整或已损坏）。",
                       f"the image cannot be decoded ({type(exc).__name__}: {exc})") from exc


def thumbnail(data: bytes, size: int = THUMB_PX) -> bytes | None:
    """A PNG thumbnail of an image (``None`` for documents, images over the limits and unreadable images)."""
    if data is None or sniff(data) not in IMAGE_TYPES:
        return None
    try:
        return _image_thumb(data, size)
    except GeoError:
        return None


def _poppler(args: list[str], data: bytes) -> subprocess.CompletedProcess | None:
    """Run a poppler tool on ``data`` (fed through a pipe) within :data:`PDF_PREVIEW_SECONDS` and
    :data:`POPPLER_MEMORY_MB`; ``None`` when it cannot run or runs out of time."""
    # the memory limit is set by a shell in the child (no preexec_fn: this runs in a threaded server)
    cmd = ["sh", "-c", 'ulimit -v "$1" && shift && exec "$@"', "sh", str(POPPLER_MEMORY_MB * 1024), *args]
    try:
        return subprocess.run(cmd, input=bytes(data), capture_output=True, timeout=PDF_PREVIEW_SECONDS, check=False)
    except (OSError, subprocess.SubprocessError):
        return None


def pdf_pages(data: bytes) -> int | None:
    """Number of pages of a PDF: poppler's ``pdfinfo`` when it reads the file, else the page objects
    written in the clear (a lower bound: pages inside compressed object streams are not seen)."""
    exe = shutil.which("pdfinfo")
    done = _poppler([exe, "-"], data) if exe else None
    if done is not None and done.returncode == 0:
        m = re.search(rb"^Pages:\s+(\d+)", done.stdout, re.M)
        if m:
            return int(m.group(1))
    n = len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", data))
    return n or None


def _pdf_preview_possible() -> bool:
    return bool(config.get("attachments", "pdf_preview", True)) and shutil.which("pdftoppm") is not None


def pdf_first_page(data: bytes, size: int = THUMB_PX) -> bytes | None:
    """A PNG of a PDF's first page, at most ``size`` pixels on its long side; ``None`` when it cannot be drawn.

    Drawn by poppler's ``pdftoppm`` (``poppler-utils``; scripts/setup installs it) in its own process, fed
    through a pipe, with a time and a memory limit; off with ``[attachments] pdf_preview = false``.
    Without it a PDF is only listed (name, size, SHA-256).
    """
    if data is None or sniff(data) != "application/pdf" or not _pdf_preview_possible():
        return None
    done = _poppler([shutil.which("pdftoppm"), "-f", "1", "-l", "1", "-singlefile", "-png", "-scale-to",
                     str(int(size)), "-"], data)
    if done is None:
        return None
    png = done.stdout
    return png if done.returncode == 0 and png.startswith(b"\x89PNG\r\n\x1a\n") else None


def preview(data: bytes, size: int = THUMB_PX) -> bytes | None:
    """A PNG thumbnail of an image or of a PDF's first page (``None`` when there is none)."""
    if data is None:
        return None
    return thumbnail(data, size) or pdf_first_page(data, size)


def _stored_thumb(data: bytes, mime: str, name: str) -> bytes | None:
    """The ``thumb`` of a file being stored: an image's thumbnail (raises when it cannot be made), a
    PDF's first page or :data:`NO_THUMB`; ``None`` (made later) when PDF previews cannot be drawn here."""
    if mime in IMAGE_TYPES:
        return _image_thumb(data, THUMB_PX, name)
    if mime == "application/pdf" and _pdf_preview_possible():
        return pdf_first_page(data) or NO_THUMB
    return None if mime == "application/pdf" else NO_THUMB


# --- storing --------------------------------------------------------------------------------

def prepare(name: str, data: bytes, *, layer: str, feature_id: str, user: str, note: str = "",
            now: dt.datetime | None = None, attachment_id: str | None = None) -> pd.DataFrame:
    """One checked ``attachments`` row for ``data`` with its thumbnail (raises :class:`GeoError` when
    it is refused: type, size, pixels, pages, an image that cannot be decoded whole).

    The id is derived from the content hash and the owner, so uploading the same
    file twice to one record keeps one copy.
    """
    user = (user or "").strip()
    if not user:
        raise GeoError("必须指明上传人。", "the uploading user is required")
    if layer not in ATTACHMENT_LAYERS:
        raise GeoError(f"附件不能挂在“{layer}”上。", f"attachments cannot belong to {layer!r}")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise GeoError("附件内容无效。", "attachment content must be bytes")
    data = bytes(data)
    limit = max_bytes()
    if len(data) > limit:
        raise LimitError(f"文件“{_label(name)}”过大（{len(data) / _MB:.1f} MB，上限 {_mb(limit)}）。",
                         f"file too large ({len(data)} bytes; limit {limit})")
    if not data:
        raise GeoError("文件为空。", "the file is empty")
    mime = sniff(data)
    allowed = allowed_types()
    if mime is None or mime not in allowed:
        labels = "、".join(TYPES[t] for t in allowed)
        raise GeoError(f"不支持的文件类型（只收 {labels}）。", f"unsupported file type (accepted: {', '.join(allowed)})")
    if mime == "application/pdf":
        pages, most = pdf_pages(data), max_pdf_pages()
        if pages is not None and pages > most:
            raise LimitError(f"PDF 文件“{_label(name)}”页数过多（{pages} 页，上限 {most} 页）。",
                             f"PDF has too many pages ({pages}; limit {most})")
    thumb = _stored_thumb(data, mime, name)
    digest = hashlib.sha256(data).hexdigest()
    now = now or dt.datetime.now().replace(microsecond=0)
    aid = attachment_id or f"{layer[:3]}-{feature_id}-{digest[:12]}"
    return pd.DataFrame([dict(id=aid, layer=layer, feature_id=str(feature_id), name=safe_name(name, mime), mime=mime,
                              size=len(data), sha256=digest, content=data, uploaded_at=pd.Timestamp(now),
                              uploaded_by=user, note=(note or "").strip()[:500] or None, thumb=thumb)])


def prepare_all(files, *, layer: str, feature_id: str, user: str, note: str = "",
                now: dt.datetime | None = None) -> pd.DataFrame:
    """The checked ``attachments`` rows of one save: ``files`` are ``(name, bytes)`` pairs.

    At most :func:`max_files` files of :func:`max_total_bytes` together (checked first, before any
    file is looked into), then each file by :func:`prepare`; one refused file refuses the save
    (:class:`GeoError` / :class:`LimitError`). A file given twice is one row. No files: no rows.
    """
    files = list(files)
    most = max_files()
    if len(files) > most:
        raise LimitError(f"一次最多保存 {most} 个文件（这次 {len(files)} 个）。",
                         f"too many files in one save ({len(files)}; limit {most})")
    total, budget = sum(len(d) for _, d in files if d is not None), max_total_bytes()
    if total > budget:
        raise LimitError(f"这次的文件合计过大（{total / _MB:.1f} MB，一次上限 {_mb(budget)}）。",
                         f"files too large together ({total} bytes; limit {budget} per save)")
    now = now or dt.datetime.now().replace(microsecond=0)
    rows = [prepare(n, d, layer=layer, feature_id=feature_id, user=user, note=note, now=now) for n, d in files]
    if not rows:
        return _empty_rows()
    return pd.concat(rows, ignore_index=True).drop_duplicates("id").reset_index(drop=True)


def _empty_rows() -> pd.DataFrame:
    from .contract import empty

    return empty("attachments")


def add(store, files, *, layer: str, feature_id: str, user: str, note: str = "") -> list[str]:
    """Store ``files`` (``(name, bytes)`` pairs) for one record in one commit; returns their ids.

    Every file is checked first (:func:`prepare_all`); one refused file means none is stored.
    """
    from .store import Change

    df = prepare_all(files, layer=layer, feature_id=feature_id, user=user, note=note)
    if not len(df):
        return []
    store.commit([Change("attachments", df, "upsert")])
    return df["id"].tolist()


def prepare_track(name: str, data: bytes, *, inspection_id: str, user: str, note: str = "",
                  now: dt.datetime | None = None) -> pd.DataFrame:
    """The ``attachments`` row of an inspection's GPS track: the GPX file as received, named ``….gpx``.

    The file must be a GPX document (checked by :func:`geo.io.readers.read_gpx_track` before this);
    its stored name ends in ``.gpx`` whatever the upload was called.
    """
    user = (user or "").strip()
    if not user:
        raise GeoError("必须指明上传人。", "the uploading user is required")
    data = bytes(data)
    if len(data) > max_bytes():
        raise LimitError(f"轨迹文件过大（{len(data) / 1e6:.1f} MB，上限 {max_bytes() / 1e6:.0f} MB）。",
                         f"track file too large ({len(data)} bytes; limit {max_bytes()})")
    if b"<gpx" not in data[:4096]:
        raise GeoError("轨迹文件不是 GPX。", "the track file is not a GPX document")
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", str(name or "")))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().lstrip(".")
    stem = re.sub(r"\.[^.]*$", "", base)[:100] or "巡查轨迹"
    digest = hashlib.sha256(data).hexdigest()
    now = now or dt.datetime.now().replace(microsecond=0)
    return pd.DataFrame([dict(id=f"ins-{inspection_id}-trk-{digest[:12]}", layer="inspections",
                              feature_id=str(inspection_id), name=f"{stem}.gpx", mime=TRACK_MIME, size=len(data),
                              sha256=digest, content=data, uploaded_at=pd.Timestamp(now), uploaded_by=user,
                              note=(note or "").strip()[:500] or None, thumb=NO_THUMB)])


# --- reading --------------------------------------------------------------------------------

def of(attachments: pd.DataFrame, layer: str, feature_id: str) -> pd.DataFrame:
    """Attachments of one record, oldest first."""
    a = attachments[(attachments["layer"] == layer) & (attachments["feature_id"] == str(feature_id))]
    return a.sort_values("uploaded_at", kind="stable").reset_index(drop=True)


def listing(store, where: dict[str, Iterable] | None = None) -> pd.DataFrame:
    """Attachments (rows matching ``where``, as ``Store.read``) without their content: what a page lists.

    Always has a ``thumb`` column (missing values: not made yet, see :func:`with_thumbs`).
    """
    df = store.read_columns("attachments", META_COLUMNS, where=where)
    if "thumb" not in df.columns:
        df = df.assign(thumb=pd.Series([None] * len(df), index=df.index, dtype=object))
    return df


def content_of(store, attachment_id: str) -> bytes | None:
    """The stored bytes of one attachment (``None`` when there is no such attachment)."""
    df = store.read_columns("attachments", ["id", "content"], where={"id": [str(attachment_id)]})
    return df["content"].iat[0] if len(df) else None


def needs_thumb(rows: pd.DataFrame) -> pd.Series:
    """Which rows have no stored ``thumb`` yet and could get one here (images; PDFs when poppler draws)."""
    kinds = list(IMAGE_TYPES) + (["application/pdf"] if _pdf_preview_possible() else [])
    thumb = rows["thumb"] if "thumb" in rows.columns else pd.Series([None] * len(rows), index=rows.index)
    return thumb.isna() & rows["mime"].isin(kinds)


def with_thumbs(store, rows: pd.DataFrame, *, save: bool = True) -> pd.DataFrame:
    """``rows`` (from :func:`listing`) with the thumbnails that were missing made, and stored when ``save``.

    Rows stored before thumbnails were kept get theirs here, once: each file's bytes are read by
    itself and go through the same limits as an upload (an old oversized or damaged image gets
    :data:`NO_THUMB`, never decoded). A store that cannot be written (a read-only database) still
    gets its thumbnails shown; they are made again next time.
    """
    todo = needs_thumb(rows)
    if not todo.any():
        return rows
    from .store import Change

    out = rows.copy()
    if "thumb" not in out.columns:
        out["thumb"] = pd.Series([None] * len(out), index=out.index, dtype=object)
    made = {}
    for i in out.index[todo.to_numpy()]:
        made[i] = preview(content_of(store, out.at[i, "id"])) or NO_THUMB
    out["thumb"] = out["thumb"].astype(object)
    for i, png in made.items():
        out.at[i, "thumb"] = png
    if save:
        fresh = pd.DataFrame({"id": out.loc[list(made), "id"].to_numpy(),
                              "thumb": pd.Series(list(made.values()), dtype=object)})
        try:
            store.commit([Change("attachments", fresh, "upsert", columns=["thumb"])])
        except (StoreError, OSError):
            pass  # a read-only store or folder: only the cache is lost (shown now, made again next time)
    return out


def thumb_png(value) -> bytes | None:
    """A stored ``thumb`` value as PNG bytes to show (``None`` when missing or :data:`NO_THUMB`)."""
    if isinstance(value, (bytes, bytearray, memoryview)) and len(value):
        return bytes(value)
    return None
