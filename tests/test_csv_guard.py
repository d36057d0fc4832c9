"""The CSV formula guard screens whole text columns at once and still changes exactly the cells the plain
per-cell rule changes (:func:`geo.io.writers.neutralise_frame`, the CR rule of ``write_csv``)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.io import writers as W

CELLS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(1,1)", "\t=1+1", "\r=1+1", "-2", "+86", "a\rb",
         "a\r\nb", "x\ny", "普通", "", " =x", "'=x", "-", "+", "1e5", "-.5", "=", "养殖场\r"]


def plain_neutralise(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if W._texty(out[col]):
            out[col] = out[col].astype(object).map(W.neutralise)
    out.columns = [W.neutralise(str(c)) if isinstance(c, str) else c for c in out.columns]
    return out


def plain_no_cr(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if W._texty(out[col]):
            out[col] = out[col].map(lambda v: v.replace("\r\n", "\n").replace("\r", "\n")
                                    if isinstance(v, str) and "\r" in v else v)
    return out


def frames(seed: int):
    rng = np.random.default_rng(seed)
    for k in range(120):
        n = int(rng.integers(0, 25))
        vals = list(rng.choice(CELLS, n))
        kind = k % 6
        if kind == 1:
            vals = [None if rng.random() < .3 else v for v in vals]
        elif kind == 2:
            vals = [np.nan if rng.random() < .5 else v for v in vals]
        elif kind == 3:
            vals = [1 if rng.random() < .3 else v for v in vals]
        elif kind == 4:
            vals = [b"x" if rng.random() < .3 else v for v in vals]
        dtype = [object, "str", "category"][k % 3] if kind in (0, 1, 2) else object
        yield pd.DataFrame({"=a": pd.Series(vals, dtype=dtype), "b": np.arange(n),
                            "c": pd.Series([None] * n, dtype=object), "d": pd.Series([np.nan] * n, dtype="str")})


@pytest.mark.parametrize("seed", range(4))
def test_column_screening_matches_the_cell_by_cell_rule(seed):
    for df in frames(seed):
        want, got = plain_neutralise(df), W.neutralise_frame(df)
        pd.testing.assert_frame_equal(got, want)
        cr = want.copy()  # write_csv takes line breaks out of the neutralised table
        for col in cr.columns:
            if W._texty(cr[col]):
                cr[col] = W._map_cells(cr[col], W._no_cr, "\r")
        pd.testing.assert_frame_equal(cr, plain_no_cr(want))


def test_a_large_text_column_is_guarded(tmp_path):
    names = np.array([f"农场{i}" for i in range(50_000)], dtype=object)
    names[[7, 4_000, 49_999]] = ["=cmd|' /C calc'!A0", "+1+1", "a\rb"]
    df = pd.DataFrame({"name": pd.Series(names, dtype="str"), "n": np.arange(50_000)})
    text = W.write_csv(df, tmp_path / "x.csv").read_text(encoding="utf-8")
    assert "\n'=cmd|' /C calc'!A0,7\n" in text and "\n'+1+1,4000\n" in text and '\n"a\nb",49999\n' in text
    assert text.count("'") == 4  # the two guards, and the quote inside the first name
