"""Monthly briefing (geo.briefing): a dated PDF with Chinese text, and an xlsx of the same figures."""
from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from pathlib import Path

import pandas as pd
import pytest

from geo import briefing as B
from geo import progress as P
from geo.cli import main as geo_main
from geo.errors import GeoError
from geo.store import open_store

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo.gpkg"


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.gpkg"
    shutil.copy(DEMO, path)
    return path


@pytest.fixture(scope="module")
def cli_outputs(demo_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("brief") / "简报.pdf"
    code = geo_main(["progress", "briefing", "--store", str(demo_store), "--as-of", "2007-10-01", "--out", str(out)])
    return code, out


def _unicode_maps(pdf: bytes) -> str:
    """Every code point named in the PDF's ToUnicode CMaps (what a text extractor maps glyphs to)."""
    found = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            data = zlib.decompress(raw)
        except zlib.error:
            continue
        if b"begincmap" not in data:
            continue
        for hexes in re.findall(rb"<([0-9A-Fa-f]{4})>", data):
            found.append(chr(int(hexes, 16)))
    return "".join(found)


def _pdf_text(path: Path) -> str | None:
    if shutil.which("pdftotext") is None:
        return None
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_briefing_pdf_has_chinese_text_and_date(cli_outputs):
    code, out = cli_outputs
    assert code == 0 and out.exists()
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")
    fonts = set(re.findall(rb"/BaseFont\s*/([^\s/]+)", pdf))
    assert any(b"CJK" in f or b"Han" in f or b"Hei" in f for f in fonts), fonts
    text = _pdf_text(out)
    if text is not None:
        assert "关停进度简报" in text and "2007年10月1日" in text and "逾期未完成清单" in text
    else:
        # no pdftotext here: the embedded font's Unicode map must carry the Chinese glyphs used
        chars = _unicode_maps(pdf)
        for ch in "关停进度简报逾期清单樟潭街道":
            assert ch in chars, ch
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 4  # figures+maps, timelines, overdue list(s), departments


def test_briefing_xlsx_carries_the_same_figures(cli_outputs):
    _, out = cli_outputs
    xlsx = out.with_suffix(".xlsx")
    assert xlsx.exists()
    from tests.sheets import header_block, read_sheets

    sheets = read_sheets(xlsx)
    assert {"指标", "逾期清单", "待办清单", "结对部门", "乡镇排名", "说明"} <= set(sheets)
    # the workbook states what it is, above its first table and on its 说明 sheet
    block = header_block(xlsx, "指标")
    assert block["标题"] == "衢江区生态整治关停进度简报" and block["截至日期"] == "2007-10-01"
    assert "逾期" in block["规则"] and block["数据版本"] and "命令行" in block["生成人"]
    assert block["软件版本"].startswith("青山 Qingshan")
    kpi = dict(zip(sheets["指标"]["指标"], sheets["指标"]["数值"].astype(str)))
    assert kpi["截至日期"] == "2007-10-01"
    assert kpi["化工园区企业（家）"] == "49" and kpi["已关停（家）"] == "34"
    assert kpi["石灰钙棚已关停（座）"] == "85" and kpi["逾期未完成（处）"] == "49"
    od = sheets["逾期清单"]
    assert {"编号", "名称", "整改期限", "剩余天数", "结对部门", "搬迁去向", "乡镇"} <= set(od.columns)
    assert len(od) == 49 and (od["剩余天数"] == -1).all()
    assert (od["专项"] == "化工园区关停").sum() == 15
    assert len(sheets["结对部门"]) == 16


def test_briefing_renders_in_memory_for_the_report_date(demo_store):
    frames = P.load_frames(open_store(str(demo_store)))
    pdf = B.render_pdf(frames, "2007-06-30", district="衢江区")
    chars = _unicode_maps(pdf)
    assert all(ch in chars for ch in "衢江区无逾期")  # heading and the "nothing overdue" note
    from tests.sheets import read_sheet

    xl = read_sheet(B.render_xlsx(frames, "2007-06-30"), "指标")
    assert dict(zip(xl["指标"], xl["数值"].astype(str)))["逾期未完成（处）"] == "0"


def test_no_cjk_font_fails_clearly_and_writes_nothing(demo_store, tmp_path, monkeypatch, capsys):
    from matplotlib import font_manager as fm

    monkeypatch.setattr(fm.fontManager, "ttflist", [f for f in fm.fontManager.ttflist
                                                    if f.name not in B.CJK_FAMILIES])
    from geo import fonts

    monkeypatch.setattr(fonts.subprocess, "run", lambda *a, **k: (_ for _ in ()).throw(OSError("no fc-match")))
    with pytest.raises(GeoError) as exc:
        B.cjk_family()
    assert "中文字体" in exc.value.zh and "CJK" in exc.value.en
    out = tmp_path / "b.pdf"
    assert geo_main(["progress", "briefing", "--store", str(demo_store), "--out", str(out)]) == 2
    assert "fonts-noto-cjk" in capsys.readouterr().err
    assert not out.exists() and not out.with_suffix(".xlsx").exists()


def test_briefing_cli_needs_a_pdf_name(demo_store, tmp_path, capsys):
    assert geo_main(["progress", "briefing", "--store", str(demo_store), "--out", str(tmp_path / "b.txt")]) == 2
    assert ".pdf" in capsys.readouterr().err and not (tmp_path / "b.txt").exists()
    assert geo_main(["progress", "briefing", "--store", str(demo_store)]) == 2


def test_briefing_water_page_judges_outfalls_by_discharge_limits(cli_outputs):
    """Sections by GB 3838 class; outfalls 达标/超标 against GB 8978-1996 with the multiple, never classed."""
    _, out = cli_outputs
    sheets = pd.read_excel(out.with_suffix(".xlsx"), sheet_name=None)
    sec, outs = sheets["断面水质"], sheets["排污口达标"]
    assert len(sec) == 10 and not sec["断面"].str.contains("排污口").any()
    assert set(sec["水质类别"]) <= {"Ⅰ类", "Ⅱ类", "Ⅲ类", "Ⅳ类", "Ⅴ类", "劣Ⅴ类", "无数据"}
    assert len(outs) == 4 and "水质类别" not in outs.columns
    assert (outs["执行标准"] == "GB 8978-1996 一级").all() and outs["判定"].isin(["达标", "超标"]).all()
    assert outs.loc[outs["判定"] == "超标", "超标项目（超标倍数）"].str.contains("倍").all()
    text = _pdf_text(out)
    if text is not None:
        assert "水质状况" in text and "GB 8978-1996 一级" in text and "超标倍数" in text


@pytest.mark.parametrize("as_of", ["2007-06-30", "2007-10-01"])
def test_briefing_pdf_text_has_nothing_raw(demo_store, tmp_path, as_of):
    """Rendered to text (pdftotext): no nan/None/NaT, no English month ticks, no exponents; empty charts explained."""
    from tests.test_no_raw_values import raw_tokens

    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed")
    frames = P.load_frames(open_store(str(demo_store)))
    out = tmp_path / "b.pdf"
    out.write_bytes(B.render_pdf(frames, as_of, district="衢江区"))
    text = _pdf_text(out)
    assert "关停进度简报" in text
    assert raw_tokens(text) == []
    # every page carries the footer: title, date, software version and its page number
    pages = text.split("\f")
    body = [p for p in pages if p.strip()]
    assert all("青山 Qingshan" in p and "第 " in p for p in body), [p[-200:] for p in body if "青山 Qingshan" not in p]
    assert re.search(r"\d{4}年\d{1,2}月", text)  # month ticks in Chinese
    # the kilns have no deadline: their remaining days read "—", never nan
    assert "石灰钙棚" in text or as_of == "2007-10-01"
    if as_of == "2007-06-30":
        # no livestock farm has finished: a sentence instead of a flat line at zero
        assert "暂无进度曲线" in text and "目标 34家" in text
