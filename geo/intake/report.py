"""The one finding type and the one report of every import (ledgers, lab files, complaints registers).

A :class:`Finding` says, in Chinese and English, what is wrong with one row (numbered as in the file) or
with the whole file (``row`` is ``None``). :func:`bounded_findings` keeps a report readable: the first
``max_report_lines`` findings of each kind, then one line that counts the rest, so a file with 100,000
bad cells still says truly how many there are. :func:`report_frame` is the table a page shows and a
report file holds, with Chinese headers.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import pandas as pd

from ..io.limits import Limits, bounded

SEVERITIES = ("error", "warning", "skipped")
SEVERITY_LABELS = {"error": "错误 error", "warning": "提示 warning", "skipped": "已跳过 skipped"}

#: Report columns (finding field -> Chinese header); ``why`` is the English text.
REPORT_COLUMNS = {"row": "行号", "id": "编号", "column": "列", "severity": "级别", "why_zh": "问题", "why": "problem"}


@dataclass(frozen=True)
class Finding:
    """One finding about a row of an imported file (``row`` as numbered in the file; ``None``: the file).

    Parameters
    ----------
    row : the row number the user sees in the file (spreadsheet row, text line or feature number).
    id : the row's id as read (empty when it has none or the finding is about the file).
    column : the header as written in the file (or the field's Chinese name).
    why_zh, why : what is wrong, in Chinese and in English.
    severity : ``"error"`` (the row cannot be imported), ``"warning"`` (imported, but look) or
        ``"skipped"`` (an error of a row the user chose to leave out: "good rows only").
    """

    row: int | None
    id: str
    column: str
    why_zh: str
    why: str
    severity: str = "error"
    #: How many findings this line stands for: 1, or the findings of its kind a bounded report left out.
    count: int = 1

    def __str__(self) -> str:
        # one tab-separated line: row, id, column, severity, message (the CLI's report)
        return (f"{'' if self.row is None else self.row}\t{self.id}\t{self.column}\t{self.severity}\t"
                f"{self.why_zh} / {self.why}")

    def as_dict(self) -> dict:
        return asdict(self)


def errors_of(findings) -> list[Finding]:
    return [p for p in findings if p.severity == "error"]


def warnings_of(findings) -> list[Finding]:
    return [p for p in findings if p.severity == "warning"]


def _kind(p: Finding) -> tuple:
    """The kind of a finding: severity, column and the message without the quoted cell or numbers."""
    return p.severity, p.column, re.sub(r"“[^”]*”|\d+(\.\d+)?", "…", p.why_zh)


def _more(kind: tuple, omitted: int, total: int) -> Finding:
    severity, column, what = kind
    return Finding(None, "", column, f"另有 {omitted:,} 处同类问题未列出（“{what}”共 {total:,} 处）",
                   f"{omitted:,} more finding(s) of this kind not listed ({total:,} in all)", severity, omitted)


def bounded_findings(findings, limit: int | None = None) -> list[Finding]:
    """The first ``limit`` findings of each kind (default ``[limits] max_report_lines``) and a count of the rest."""
    limit = Limits.current().max_report_lines if limit is None else limit
    return bounded(list(findings), _kind, limit, _more)


def report_frame(findings) -> pd.DataFrame:
    """Findings as a table with Chinese headers (行号, 编号, 列, 级别, 问题, problem), errors first."""
    df = pd.DataFrame([p.as_dict() for p in findings], columns=list(REPORT_COLUMNS))
    if len(df):
        df["row"] = pd.array(df["row"], dtype="Int64")
        df["severity"] = df["severity"].map(SEVERITY_LABELS).fillna(df["severity"])
        order = df["severity"].map({SEVERITY_LABELS["error"]: 0}).fillna(1)
        df = df.assign(_o=order).sort_values(["_o", "row"], kind="stable", na_position="first").drop(columns="_o")
    else:
        df["row"] = pd.array([], dtype="Int64")
    return df.rename(columns=REPORT_COLUMNS).reset_index(drop=True)


def total_count(findings, severity: str = "error") -> int:
    """How many findings of ``severity`` there truly are, counting those a bounded report only counts."""
    return sum(p.count for p in findings if p.severity == severity)
