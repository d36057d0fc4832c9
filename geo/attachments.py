"""Attachments: documents and photos stored in the store itself (``attachments`` table, binary content).

Both backends carry them (GeoPackage BLOB, PostGIS bytea), so a copied store
keeps its files. What is accepted is decided from the bytes, not from the name
or the type a browser claims: JPEG, PNG, WebP images and PDF documents, up to
a size limit (``[attachments] max_bytes`` and ``types`` in ``qingshan.toml``).
A name is only a label: it is reduced to its last path part and never used to
open anything.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import shutil
import subprocess
import unicodedata

import pandas as pd

from . import config
from .contract import ATTACHMENT_LAYERS
from .errors import GeoError, LimitError

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
#: mime type → Chinese label; the default set of accepted types.
TYPES = {"image/jpeg": "JPEG 图片", "image/png": "PNG 图片", "image/webp": "WebP 图片", "application/pdf": "PDF 文档"}
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
THUMB_PX = 320
#: Longest a PDF's first page may take to draw (a hostile file must not hang a page).
PDF_PREVIEW_SECONDS = 15


def max_bytes() -> int:
    return int(config.get("attachments", "max_bytes", DEFAULT_MAX_BYTES))


def allowed_types() -> tuple[str, ...]:
    types = config.get("attachments", "types", list(TYPES))
    return tuple(t for t in types if t in TYPES)


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


def safe_name(name: str, mime: str) -> str:
    """A display name: the last path part, control characters removed, at most 120 characters."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", str(name or "")))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().lstrip(".")
    ext = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "application/pdf": ".pdf"}[mime]
    if not base:
        base = "附件" + ext
    return base[:120]


def prepare(name: str, data: bytes, *, layer: str, feature_id: str, user: str, note: str = "",
            now: dt.datetime | None = None, attachment_id: str | None = None) -> pd.DataFrame:
    """One checked ``attachments`` row for ``data`` (raises :class:`GeoError` when it is refused).

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
        raise LimitError(f"文件“{safe_name(name, 'application/pdf')}”过大（{len(data) / 1e6:.1f} MB，上限 "
                         f"{limit / 1e6:.0f} MB）。", f"file too large ({len(data)} bytes; limit {limit})")
    if not data:
        raise GeoError("文件为空。", "the file is empty")
    mime = sniff(data)
    allowed = allowed_types()
    if mime is None or mime not in allowed:
        labels = "、".join(TYPES[t] for t in allowed)
        raise GeoError(f"不支持的文件类型（只收 {labels}）。", f"unsupported file type (accepted: {', '.join(allowed)})")
    digest = hashlib.sha256(data).hexdigest()
    now = now or dt.datetime.now().replace(microsecond=0)
    aid = attachment_id or f"{layer[:3]}-{feature_id}-{digest[:12]}"
    return pd.DataFrame([dict(id=aid, layer=layer, feature_id=str(feature_id), name=safe_name(name, mime), mime=mime,
                              size=len(data), sha256=digest, content=data, uploaded_at=pd.Timestamp(now),
                              uploaded_by=user, note=(note or "").strip()[:500] or None)])


def add(store, files, *, layer: str, feature_id: str, user: str, note: str = "") -> list[str]:
    """Store ``files`` (``(name, bytes)`` pairs) for one record in one commit; returns their ids.

    Every file is checked first; one refused file means none is stored.
    """
    from .store import Change

    rows = [prepare(n, d, layer=layer, feature_id=feature_id, user=user, note=note) for n, d in files]
    if not rows:
        return []
    df = pd.concat(rows, ignore_index=True).drop_duplicates("id")
    store.commit([Change("attachments", df, "upsert")])
    return df["id"].tolist()


#: The type of an inspection's GPS track (GPX), stored beside its photos: never shown inline, never executed.
TRACK_MIME = "application/gpx+xml"


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
                              note=(note or "").strip()[:500] or None)])


def of(attachments: pd.DataFrame, layer: str, feature_id: str) -> pd.DataFrame:
    """Attachments of one record, oldest first."""
    a = attachments[(attachments["layer"] == layer) & (attachments["feature_id"] == str(feature_id))]
    return a.sort_values("uploaded_at", kind="stable").reset_index(drop=True)


def thumbnail(data: bytes, size: int = THUMB_PX) -> bytes | None:
    """A PNG thumbnail of an image (``None`` for documents or unreadable images)."""
    if sniff(data) not in IMAGE_TYPES:
        return None
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.thumbnail((size, size))
            buf = io.BytesIO()
            im.convert("RGB").save(buf, format="PNG")
            return buf.getvalue()
    except Exception:  # noqa: BLE001 - a damaged image simply has no thumbnail
        return None


def pdf_first_page(data: bytes, size: int = THUMB_PX) -> bytes | None:
    """A PNG of a PDF's first page, at most ``size`` pixels on its long side; ``None`` when it cannot be drawn.

    Drawn by poppler's ``pdftoppm`` (``poppler-utils``; scripts/setup installs it) in its own process, fed
    through a pipe, with a time limit; off with ``[attachments] pdf_preview = false``. Without it a PDF is
    only listed (name, size, SHA-256).
    """
    if sniff(data) != "application/pdf" or not config.get("attachments", "pdf_preview", True):
        return None
    exe = shutil.which("pdftoppm")
    if exe is None:
        return None
    try:
        done = subprocess.run([exe, "-f", "1", "-l", "1", "-singlefile", "-png", "-scale-to", str(int(size)), "-"],
                              input=bytes(data), capture_output=True, timeout=PDF_PREVIEW_SECONDS, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    png = done.stdout
    return png if done.returncode == 0 and png.startswith(b"\x89PNG\r\n\x1a\n") else None


def preview(data: bytes, size: int = THUMB_PX) -> bytes | None:
    """A PNG thumbnail of an image or of a PDF's first page (``None`` when there is none)."""
    if data is None:
        return None
    return thumbnail(data, size) or pdf_first_page(data, size)
