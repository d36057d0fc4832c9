"""Response headers the Streamlit server does not send by itself (issue 26).

Attachments reach the browser through Streamlit's media endpoint (``/media/…``: the thumbnails of
``st.image`` and the files of ``st.download_button``). Their ``Content-Type`` is the type sniffed from
the bytes at upload (:mod:`geo.attachments`); ``X-Content-Type-Options: nosniff`` makes the browser
keep to it, so a photo whose bytes also parse as HTML or script is never run as a page of this site.

Streamlit 1.67 serves over Starlette (uvicorn) and builds its media route inside the server before
any page runs, so the header cannot be added as middleware from a page. :func:`install` wraps
``Starlette.__call__`` instead: a special method is looked up on the class at every request, so the
app already serving gets the wrapper at once. It adds :data:`HEADERS` to every response under the
media route (other responses are left as Streamlit sends them). Idempotent; ``app.py`` calls it once.
"""
from __future__ import annotations

#: Headers added to every media response (ASGI form: lower-case names, bytes).
HEADERS = ((b"x-content-type-options", b"nosniff"),)
_MARK = "_qingshan_web_headers"


def media_prefix() -> str:
    """The path every media response is served under (``/media/``, below ``server.baseUrlPath``)."""
    from streamlit import config

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/media/" if base else "/media/"


def with_headers(send, headers=HEADERS):
    """An ASGI ``send`` that adds ``headers`` to the response start (replacing any of the same names)."""
    names = {k for k, _ in headers}

    async def send_with_headers(message):
        if message.get("type") == "http.response.start":
            kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
            message = {**message, "headers": kept + list(headers)}
        await send(message)

    return send_with_headers


def install() -> bool:
    """Add :data:`HEADERS` to the media responses of every Starlette app of this process; ``True`` the
    first time (later calls change nothing)."""
    from starlette.applications import Starlette

    if getattr(Starlette.__call__, _MARK, False):
        return False
    original = Starlette.__call__

    async def __call__(self, scope, receive, send):
        if scope.get("type") == "http" and scope.get("path", "").startswith(media_prefix()):
            send = with_headers(send)
        await original(self, scope, receive, send)

    setattr(__call__, _MARK, True)
    Starlette.__call__ = __call__
    return True
