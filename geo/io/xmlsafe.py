"""A streaming XML parse that refuses DTDs, for every XML a bureau sends (KML, GPX, an xlsx sheet's merges).

``xml.etree`` expands internal entities, so a 1 KB "billion laughs" file can grow to gigabytes. Entities
can only be declared inside a ``<!DOCTYPE …>``; none of KML, GPX or OOXML needs one, so :func:`parse`
refuses a document at the start of its DOCTYPE, before any entity is declared, let alone expanded.
External entities are never fetched (expat only fetches through a handler, and none is set).

Writing: :func:`xml_text` and :func:`xml_frame` drop the characters XML 1.0 cannot hold (C0 controls other
than TAB, LF and CR; lone surrogates; U+FFFE/U+FFFF) from text already in a store before a GPX or KML is
made of it, so an ESC or BEL a name brought in never yields an ill-formed file (or a writer's traceback).

The parse is expat's (:mod:`pyexpat`), fed in chunks: memory stays bounded by the caller's handlers,
whatever the document's size. Element names come as ``"namespace local"``; :func:`local` keeps the local
part, so ``kml:Placemark`` and an un-namespaced ``Placemark`` read alike.
"""
from __future__ import annotations

import codecs
import pyexpat
import re
from collections.abc import Callable
from typing import BinaryIO

from ..errors import GeoError

__all__ = ["parse", "local", "declared_encoding", "xml_text", "xml_frame", "CHUNK", "GB_ENCODINGS"]

#: Bytes fed to expat at a time.
CHUNK = 1 << 16
#: Encodings expat does not know that Chinese software writes in an XML declaration.
GB_ENCODINGS = {"gb2312", "gbk", "gb18030", "cp936", "936", "euc-cn", "x-gbk"}
_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


#: Characters outside XML 1.0's ``Char`` production (#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] |
#: [#x10000-#x10FFFF]): not even a character reference may name them.
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(s):
    """``s`` without the characters XML cannot hold (anything else, ``None`` included, as it is)."""
    return _XML_ILLEGAL.sub("", s) if isinstance(s, str) else s


def xml_frame(df):
    """``df`` with :func:`xml_text` applied to every text cell (one vectorised replace per text column; the
    frame itself when no cell needs it). Cells that are not text are kept as they are."""
    import pandas as pd

    out = None
    for col in df.columns:
        s = df[col]
        if not (pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype)):
            continue
        try:
            hit = s.str.contains(_XML_ILLEGAL, regex=True, na=False).to_numpy(dtype=bool)
        except AttributeError:  # no text in the column
            continue
        if hit.any():
            out = df.copy() if out is None else out
            cleaned = s[hit].str.replace(_XML_ILLEGAL, "", regex=True).to_numpy(dtype=object)
            col_values = out[col].astype(object).copy()
            col_values.iloc[hit.nonzero()[0]] = cleaned
            out[col] = col_values
    return df if out is None else out


class _Refused(Exception):
    """Raised inside expat's DOCTYPE handler; turned into a GeoError outside it."""


def local(name: str) -> str:
    """The local part of an element name (``"http://www.opengis.net/kml/2.2 Placemark"`` → ``Placemark``)."""
    return name.rpartition(" ")[2]


def declared_encoding(head: bytes) -> str | None:
    """The encoding an XML declaration at the start of ``head`` names, lower case (``None`` without one)."""
    m = _DECL.match(head)
    return m.group(1).decode("ascii").lower() if m else None


def _refuse(*_args) -> None:
    raise _Refused()


def _chunks(fh: BinaryIO, first: bytes):
    """The stream's chunks, ``first`` (already read) included."""
    if first:
        yield first
    while chunk := fh.read(CHUNK):
        yield chunk


def _as_utf8(chunks):
    """Re-encode a GBK/GB18030 stream as UTF-8 on the fly (GB18030 is a superset of GBK and GB2312)."""
    dec = codecs.getincrementaldecoder("gb18030")()
    for chunk in chunks:
        yield dec.decode(chunk).encode("utf-8")
    yield dec.decode(b"", final=True).encode("utf-8")


def parse(fh: BinaryIO, *, what_zh: str, what_en: str, start: Callable | None = None,
          end: Callable | None = None, chars: Callable | None = None) -> None:
    """Parse ``fh`` chunk by chunk, calling ``start(name, attrs)``, ``end(name)`` and ``chars(text)``.

    Parameters
    ----------
    fh : a binary stream (a file, a zip member); read to its end.
    what_zh, what_en : what the file is, for messages (``"KML 文件"``, ``"the KML file"``).
    start, end, chars : expat handlers; an exception they raise (e.g. a LimitError) ends the parse and
        propagates as it is.

    Raises
    ------
    geo.errors.GeoError : the document declares a DOCTYPE (entities are refused for safety), is not
        well-formed XML, or names an encoding that cannot be read.
    """
    first = fh.read(CHUNK)
    declared = declared_encoding(first)
    chunks = _chunks(fh, first)
    # expat reads UTF-8/16 and Latin-1 itself; GBK it refuses: decode it here and tell expat it is UTF-8
    p = pyexpat.ParserCreate(encoding="utf-8" if declared in GB_ENCODINGS else None, namespace_separator=" ")
    if declared in GB_ENCODINGS:
        chunks = _as_utf8(chunks)
    p.buffer_text = True
    p.StartDoctypeDeclHandler = _refuse
    p.EntityDeclHandler = _refuse  # unreachable without a DOCTYPE; kept as a second lock
    p.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
    if start:
        p.StartElementHandler = start
    if end:
        p.EndElementHandler = end
    if chars:
        p.CharacterDataHandler = chars
    try:
        for chunk in chunks:
            p.Parse(chunk, False)
        p.Parse(b"", True)
    except _Refused:
        raise GeoError(f"{what_zh}含有 DOCTYPE（实体声明），出于安全原因拒绝读取；请用原软件重新导出。",
                       f"{what_en} declares a DOCTYPE (entities); refused for safety; export it again") from None
    except pyexpat.ExpatError as exc:
        raise GeoError(f"{what_zh}已损坏（第 {exc.lineno} 行：{pyexpat.errors.messages[exc.code]}）。",
                       f"{what_en} is damaged (line {exc.lineno}: {pyexpat.errors.messages[exc.code]})") from None
    except UnicodeDecodeError as exc:  # a ValueError, so caught first: not GB18030 although declared so
        raise GeoError(f"{what_zh}的文字编码与声明（{declared}）不符。",
                       f"{what_en} is not in the encoding it declares ({declared})") from exc
    except (ValueError, LookupError) as exc:  # an encoding expat and Python cannot read
        raise GeoError(f"{what_zh}的文字编码无法识别（{declared or '未声明'}）；请另存为 UTF-8。",
                       f"cannot read the text encoding of {what_en} ({declared or 'none declared'}); "
                       f"save it as UTF-8") from exc
