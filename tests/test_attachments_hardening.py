"""Hostile attachments (issue 26): pixel and page bounds read before decoding, names from the sniffed type,
limits per save, thumbnails stored once, pages that never read an original, ``nosniff`` on media responses."""
from __future__ import annotations

import hashlib
import io
import shutil
import struct
import time
import urllib.request
import zlib

import numpy as np
import pandas as pd
import pytest

from geo import attachments as ATT
from geo import inspections as I
from geo.errors import GeoError, LimitError
from geo.sitefile import site_file, to_pdf
from geo.store import Change, open_store
from tests.conftest import DEMO

SITE = "E001"


# --- files ----------------------------------------------------------------------------------

def _pixels(w: int, h: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, (h, w, 3)).astype(np.uint8)


def _image(fmt: str, w: int = 64, h: int = 48, **kw) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(_pixels(w, h)).save(buf, format=fmt, **kw)
    return buf.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_bomb(w: int, h: int, cut: int | None = None) -> bytes:
    """A valid all-black RGB PNG of ``w`` × ``h`` made row by row (never the whole image in memory)."""
    z = zlib.compressobj(9)
    row = b"\x00" + bytes(w * 3)
    idat = b"".join(z.compress(row) for _ in range(h)) + z.flush()
    data = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))
    return data if cut is None else data[:cut]


def _jpeg_claiming(w: int, h: int) -> bytes:
    """A small real JPEG whose frame header claims ``w`` × ``h``."""
    data = bytearray(_image("JPEG", 32, 24))
    i = data.index(b"\xff\xc0")
    data[i + 5:i + 9] = struct.pack(">HH", h, w)
    return bytes(data)


def _webp_claiming(w: int, h: int) -> bytes:
    """A small real extended WebP (VP8X) whose canvas claims ``w`` × ``h``."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.zeros((24, 32, 4), np.uint8)).save(buf, format="WEBP", exif=b"Exif\x00\x00")
    data = bytearray(buf.getvalue())
    assert data[12:16] == b"VP8X"
    data[24:27], data[27:30] = (w - 1).to_bytes(3, "little"), (h - 1).to_bytes(3, "little")
    return bytes(data)


def _pdf(pages: int) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    buf = io.BytesIO()
    with PdfPages(buf) as pdf:
        for k in range(pages):
            fig = plt.figure(figsize=(2, 3))
            fig.text(0.5, 0.5, str(k))
            pdf.savefig(fig)
            plt.close(fig)
    return buf.getvalue()


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Write ``[attachments]`` settings to a private qingshan.toml."""
    def write(**values):
        path = tmp_path / "qingshan.toml"
        path.write_text("[attachments]\n" + "".join(f"{k} = {v!r}\n" for k, v in values.items()), encoding="utf-8")
        monkeypatch.setenv("QINGSHAN_CONFIG", str(path))
    return write


@pytest.fixture
def no_decoding(monkeypatch):
    """Make any PIL decode fail the test: a refusal must come before the decoder."""
    from PIL import Image

    def refuse(*a, **k):
        raise AssertionError("an image was opened for decoding")

    monkeypatch.setattr(Image, "open", refuse)


def _prepare(name, data):
    return ATT.prepare(name, data, layer="enterprises", feature_id=SITE, user="李")


# --- 1. bounded before decoding -------------------------------------------------------------

@pytest.mark.parametrize("fmt,kw", [("PNG", {}), ("JPEG", {}), ("JPEG", {"progressive": True}), ("WEBP", {}),
                                    ("WEBP", {"lossless": True}), ("WEBP", {"exif": b"Exif\x00\x00"})])
@pytest.mark.parametrize("size", [(1, 1), (301, 7), (4099, 3)])
def test_header_size_is_the_size_pil_decodes(fmt, kw, size):
    from PIL import Image

    data = _image(fmt, *size, **kw)
    with Image.open(io.BytesIO(data)) as im:
        assert ATT.image_size(data) == im.size == size


def test_animated_webp_is_bounded_by_its_largest_frame():
    from PIL import Image

    frames = [Image.fromarray(np.full((40, 60, 3), 50 * k, np.uint8)) for k in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format="WEBP", save_all=True, append_images=frames[1:])
    assert ATT.image_size(buf.getvalue()) == (60, 40)


@pytest.mark.parametrize("data", [png_bomb(8000, 6000), _jpeg_claiming(20000, 20000), _webp_claiming(9000, 9000)],
                         ids=["png-48MP", "jpeg-400MP", "webp-81MP"])
def test_a_pixel_bomb_is_refused_from_its_header(data, no_decoding):
    with pytest.raises(LimitError) as err:
        _prepare("bomb.png", data)
    assert "百万像素" in err.value.zh and "limit 40000000" in err.value.en


def test_the_pixel_limit_is_the_configured_one(settings):
    data = _image("PNG", 100, 60)
    settings(max_pixels=5000)
    with pytest.raises(LimitError, match="limit 5000"):
        _prepare("a.png", data)
    settings(max_pixels=6000)
    assert len(_prepare("a.png", data)) == 1
    from PIL import Image

    assert Image.MAX_IMAGE_PIXELS == 6000  # PIL's own guard on the same limit


@pytest.mark.parametrize("cut", [584, 5000])
def test_a_truncated_png_is_refused_without_decoding(cut, no_decoding):
    data = png_bomb(6000, 6000, cut=cut)  # 36 MP: under the pixel limit, but cut short
    assert ATT.image_size(data) == (6000, 6000)
    with pytest.raises(GeoError, match="damaged or incomplete") as err:
        _prepare("cut.png", data)
    assert not isinstance(err.value, LimitError)


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_an_image_that_does_not_decode_whole_is_refused(fmt):
    data = _image(fmt, 400, 300)
    with pytest.raises(GeoError, match="cannot be decoded"):
        _prepare("half.jpg", data[: len(data) // 2])


def test_pdf_pages_are_bounded(settings):
    settings(max_pdf_pages=3)
    five, three = _pdf(5), _pdf(3)
    assert ATT.pdf_pages(five) == 5 and ATT.pdf_pages(three) == 3
    with pytest.raises(LimitError, match=r"too many pages \(5; limit 3\)"):
        _prepare("报告.pdf", five)
    assert _prepare("报告.pdf", three)["mime"].iat[0] == "application/pdf"


# --- 2. names and types -----------------------------------------------------------------------

JPEG_HTML = _image("JPEG", 16, 16) + b"<html><script>alert(document.cookie)</script></html>"


@pytest.mark.parametrize("name,want", [("报告.html", "报告.jpg"), ("invoice.pdf.exe", "invoice.pdf.jpg"),
                                       ("run.bat", "run.jpg"), ("app.hta", "app.jpg"), ("logo.svg", "logo.jpg"),
                                       ("evil.exe.", "evil.jpg"), ("evil.exe ", "evil.jpg"),
                                       ("a\u202egpj.exe", "agpj.jpg"), ("../../现场.JPEG", "现场.JPEG"),
                                       ("CON.txt", "_CON.jpg"), ("", "附件.jpg")])
def test_the_stored_name_ends_in_the_sniffed_type(name, want):
    row = _prepare(name, JPEG_HTML)
    assert row["mime"].iat[0] == "image/jpeg" and row["name"].iat[0] == want


def test_a_stored_name_is_handed_out_as_its_type():
    assert ATT.download_as("报告.html", "image/jpeg") == ("报告.jpg", "image/jpeg")
    assert ATT.download_as("x.png.exe", "image/png") == ("x.png.png", "image/png")
    assert ATT.download_as("页面.html", "text/html") == ("页面.bin", "application/octet-stream")


# --- 4. limits per save -------------------------------------------------------------------------

def test_a_save_is_bounded_in_files_and_bytes_before_any_file_is_read(settings, no_decoding):
    settings(max_files=3, max_total_bytes=5000)
    junk = [(f"{k}.png", b"x" * 100) for k in range(4)]
    with pytest.raises(LimitError, match=r"too many files in one save \(4; limit 3\)") as err:
        ATT.prepare_all(junk, layer="enterprises", feature_id=SITE, user="李")
    assert "最多保存 3 个" in err.value.zh
    with pytest.raises(LimitError, match=r"\(6000 bytes; limit 5000 per save\)"):
        ATT.prepare_all([("a.png", b"x" * 3000), ("b.png", b"x" * 3000)], layer="enterprises", feature_id=SITE,
                        user="李")
    empty = ATT.prepare_all([], layer="enterprises", feature_id=SITE, user="李")
    assert len(empty) == 0 and {"id", "content", "thumb"} <= set(empty.columns)


def test_default_save_limits_and_their_label():
    assert (ATT.max_files(), ATT.max_total_bytes(), ATT.max_pixels()) == (10, 50 * 1024 * 1024, 40_000_000)
    assert "每次最多 10 个文件" in ATT.limits_text() and "合计不超过 50 MB" in ATT.limits_text()


def test_one_save_of_eleven_photos_is_refused_whole(tmp_path):
    dst = tmp_path / "store.gpkg"
    shutil.copyfile(DEMO, dst)
    store = open_store(dst)
    before = store.count("attachments")
    photos = [(f"{k}.png", _image("PNG", 8 + k, 8)) for k in range(11)]
    with pytest.raises(LimitError, match="limit 10"):
        ATT.add(store, photos, layer="enterprises", feature_id=SITE, user="李")
    stop = store.read("inspection_visits")["id"].iat[0]
    with pytest.raises(LimitError, match="limit 10"):
        I.record_finding(store, stop, "ok", user="李", photos=photos)
    assert store.count("attachments") == before
    assert len(ATT.add(store, photos[:10], layer="enterprises", feature_id=SITE, user="李")) == 10


# --- thumbnails in the store; pages read no originals --------------------------------------------

@pytest.fixture
def store(demo_each_backend):
    """The demo on each backend (conftest's ``demo_each_backend``)."""
    return demo_each_backend


def _no_originals(monkeypatch, store):
    """From here on, reading an attachment's content or making a preview fails the test."""
    real = store.read_columns

    def read_columns(table, columns, where=None):
        assert not (table == "attachments" and "content" in columns), "an original was read"
        return real(table, columns, where)

    def read(table, where=None):
        assert table != "attachments", "attachments read whole"
        return type(store).read(store, table, where)

    def read_many(tables=()):
        assert "attachments" not in list(tables), "attachments read whole"
        return type(store).read_many(store, tables)

    for name, fn in (("read_columns", read_columns), ("read", read), ("read_many", read_many)):
        monkeypatch.setattr(store, name, fn)
    for name in ("preview", "thumbnail", "pdf_first_page", "_image_thumb"):
        monkeypatch.setattr(ATT, name, lambda *a, **k: pytest.fail("a preview was made again"))


def test_thumbnails_are_made_at_upload_and_the_site_file_reads_only_them(store, monkeypatch):
    photos = [(f"现场{k}.jpg", _image("JPEG", 1200 + k, 900)) for k in range(3)]
    ids = ATT.add(store, photos, layer="enterprises", feature_id=SITE, user="李")
    listed = ATT.listing(store, {"id": ids})
    assert "content" not in listed.columns and len(listed) == 3
    from PIL import Image

    for png in listed["thumb"]:
        with Image.open(io.BytesIO(png)) as im:
            assert im.format == "PNG" and max(im.size) == ATT.THUMB_PX
    assert ATT.content_of(store, ids[1]) == photos[1][1] and ATT.content_of(store, "nope") is None
    site_file(store, "enterprises", SITE, cache_thumbs=True)  # any older row of the site gets its thumbnail
    _no_originals(monkeypatch, store)
    f = site_file(store, "enterprises", SITE)
    assert set(ids) <= set(f.attachments["id"]) and "content" not in f.attachments.columns
    pdf = to_pdf(f)
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Subtype /Image") >= 3


def test_old_rows_get_their_thumbnail_once_and_an_old_bomb_is_never_decoded(store, monkeypatch):
    from PIL import Image

    photo, bomb = _image("PNG", 640, 480), png_bomb(9000, 9000)
    rows = pd.concat([_prepare("old.png", photo).assign(id="old-photo"),
                      _prepare("old2.png", _image("PNG", 10, 10)).assign(
                          id="old-bomb", content=[bomb], size=len(bomb), sha256=hashlib.sha256(bomb).hexdigest())])
    store.commit([Change("attachments", rows.drop(columns="thumb"), "upsert")])  # as stored before thumbnails
    opened = []
    real_open = Image.open
    monkeypatch.setattr(Image, "open", lambda fp, *a, **k: opened.append(1) or real_open(fp, *a, **k))
    listed = ATT.listing(store, {"id": ["old-photo", "old-bomb"]})
    assert listed["thumb"].isna().all()
    first = ATT.with_thumbs(store, listed).set_index("id")["thumb"]
    assert first["old-bomb"] == ATT.NO_THUMB and first["old-photo"].startswith(b"\x89PNG")
    assert len(opened) == 1  # the photo; the bomb was refused from its header
    stored = ATT.listing(store, {"id": ["old-photo", "old-bomb"]}).set_index("id")["thumb"]
    assert stored.to_dict() == first.to_dict()
    _no_originals(monkeypatch, store)
    again = ATT.with_thumbs(store, ATT.listing(store, {"id": ["old-photo", "old-bomb"]}))
    assert again.set_index("id")["thumb"].to_dict() == first.to_dict()


def test_the_site_page_reads_no_original_and_downloads_on_click(tmp_path, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tests.test_page_casework import VIEWS

    dst = tmp_path / "store.gpkg"
    shutil.copyfile(DEMO, dst)
    store = open_store(dst)
    fid = store.read("attachments")["feature_id"].iat[0]  # demo rows: stored without thumbnails
    ATT.add(store, [("报告.html", JPEG_HTML)], layer="enterprises", feature_id=fid, user="李")
    monkeypatch.setenv("QINGSHAN_STORE", str(dst))
    st.cache_resource.clear()
    st.cache_data.clear()

    def page():
        at = AppTest.from_file(str(VIEWS / "site.py"), default_timeout=180)
        at.query_params["layer"], at.query_params["id"] = "enterprises", fid
        at.run()
        assert not at.exception, at.exception
        return at

    page()  # the demo's rows get their thumbnails here, once
    calls = []
    monkeypatch.setattr(ATT, "content_of", lambda *a: calls.append(a) or pytest.fail("an original was read"))
    at = page()
    mine = store.read("attachments").query("feature_id == @fid and layer == 'enterprises'")
    assert calls == [] and len(at.get("image")) == len(mine)
    buttons = [b for b in at.get("download_button") if b.proto.label == "下载"]
    assert len(buttons) == len(mine) and all(b.proto.deferred_file_id for b in buttons)
    st.cache_resource.clear()
    st.cache_data.clear()


# --- nosniff over HTTP ---------------------------------------------------------------------------

def test_web_headers_install_once():
    from starlette.applications import Starlette

    from layers import web_headers

    web_headers.install()
    wrapped = Starlette.__call__
    assert web_headers.install() is False and Starlette.__call__ is wrapped


def _stream(url: str):
    from websockets.sync.client import connect

    return connect(url.replace("http://", "ws://") + "/_stcore/stream", subprotocols=["streamlit"], max_size=None)


def _run_page(ws, query: str, page: str):
    """Run a page over the app's websocket: the session id, the media URLs of its images, its download ids."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = BackMsg()
    msg.rerun_script.query_string, msg.rerun_script.page_name = query, page
    ws.send(msg.SerializeToString())
    session, images, downloads = "", [], []
    deadline = time.time() + 120
    while time.time() < deadline:
        fwd = ForwardMsg()
        fwd.ParseFromString(ws.recv(timeout=120))
        if fwd.WhichOneof("type") == "new_session":
            session = fwd.new_session.initialize.session_id
        if fwd.WhichOneof("type") == "delta" and fwd.delta.WhichOneof("type") == "new_element":
            el = fwd.delta.new_element
            if el.WhichOneof("type") == "imgs":
                images += [i.url for i in el.imgs.imgs]
            elif el.WhichOneof("type") == "download_button" and el.download_button.label == "下载":
                downloads.append(el.download_button.deferred_file_id or el.download_button.url)
            elif el.WhichOneof("type") == "exception":
                pytest.fail(el.exception.message)
        if fwd.WhichOneof("type") == "script_finished":
            return session, images, downloads
    pytest.fail("the page did not finish")


def _deferred_url(ws, session: str, file_id: str) -> str:
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    if file_id.startswith("/"):
        return file_id  # (a download whose bytes were sent with the page)
    msg = BackMsg()
    msg.backend_operation_request.request_id = file_id
    msg.backend_operation_request.session_id = session
    msg.backend_operation_request.deferred_file.file_id = file_id
    ws.send(msg.SerializeToString())
    deadline = time.time() + 60
    while time.time() < deadline:
        fwd = ForwardMsg()
        fwd.ParseFromString(ws.recv(timeout=60))
        if fwd.WhichOneof("type") == "backend_operation_response" and \
                fwd.backend_operation_response.request_id == file_id:
            assert not fwd.backend_operation_response.error_msg, fwd.backend_operation_response.error_msg
            return fwd.backend_operation_response.deferred_file.url
    pytest.fail("no answer to the download request")


def test_media_and_downloads_are_sent_nosniff_with_the_sniffed_type(tmp_path):
    from tests.browser import serve

    dst = tmp_path / "store.gpkg"
    shutil.copyfile(DEMO, dst)
    store = open_store(dst)
    [new] = ATT.add(store, [("报告.html", JPEG_HTML)], layer="enterprises", feature_id=SITE, user="李")
    # a row stored before names were fixed: its name still says .hta
    old = _prepare("x.jpg", JPEG_HTML).assign(id="old-hta", name="旧.hta").drop(columns="thumb")
    store.commit([Change("attachments", old, "upsert")])
    with serve(dst, timeout=120) as url, _stream(url) as ws:
        session, images, downloads = _run_page(ws, f"layer=enterprises&id={SITE}", "site")
        assert len(images) == len(downloads) == 2
        for path in images:
            with urllib.request.urlopen(url + path, timeout=30) as r:
                assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["Content-Type"].startswith("image/")
        got = {}
        for file_id in downloads:
            with urllib.request.urlopen(url + _deferred_url(ws, session, file_id), timeout=30) as r:
                assert r.headers["X-Content-Type-Options"] == "nosniff"
                assert r.headers["Content-Type"] == "image/jpeg"
                got[urllib.request.unquote(r.headers["Content-Disposition"])] = r.read()
    assert got == {"attachment; filename*=utf-8''报告.jpg": JPEG_HTML, "attachment; filename*=utf-8''旧.jpg": JPEG_HTML}
    assert new in set(store.read("attachments")["id"])
