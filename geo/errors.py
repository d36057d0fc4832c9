"""The one error type of Qingshan's core: a bilingual message a user can act on.

Every module of ``geo`` raises :class:`GeoError` (or a subclass that only names
the kind, for callers that want to catch one kind) when input or a store is
wrong. Pages and the command line show ``zh`` and ``en``, and ``problems``
(per-row findings) as a bounded list, never a traceback.
"""
from __future__ import annotations


class GeoError(Exception):
    """An error the user can fix, said in Chinese and in English.

    Parameters
    ----------
    zh : str
        The message in Chinese.
    en : str, optional
        The same message in English (defaults to ``zh``).
    problems : list, optional
        Per-row or per-field findings (``geo.check.Problem`` or plain strings).
    """

    def __init__(self, zh: str, en: str | None = None, problems: list | None = None):
        en = zh if en is None else en
        super().__init__(en)
        self.zh, self.en = zh, en
        self.problems = list(problems or [])

    def bilingual(self) -> str:
        """``zh`` and ``en`` on two lines (one line when they are the same text)."""
        return self.zh if self.zh == self.en else f"{self.zh}\n{self.en}"


class InputError(GeoError, ValueError):
    """A value given by the user is not one the function takes (also a ``ValueError``, for callers that
    caught one before it said so in two languages)."""


class StoreError(GeoError):
    """A store could not be opened or written; nothing was written."""

    def __init__(self, message: str, problems: list | None = None, *, zh: str | None = None):
        super().__init__(zh or "数据存储操作失败，未写入任何数据。", message, problems)


class LimitError(GeoError):
    """An input exceeds a configured limit (size, rows, columns); nothing was read further."""
