"""No English a person sees (issue 25 item 6), in headless Chromium with a zh-CN locale.

Every page of ``app.py``'s ``PAGES``, signed in (the pages that write show their forms, uploaders and
camera only then), each tab shown, the first select box opened with a search that matches nothing
("No results"), the first multiselect opened ("Select all"), a table's toolbar hovered button by button
(its tooltips) and its column list and search opened: no visible text, and no ``placeholder`` /
``aria-label`` / ``title`` / ``alt``, holds a Latin word ([A-Za-z]{2,}) outside a short allow-list
(units, standard and parameter codes, file-format and product names, ids). Words that came and went
while the pages ran (the status widget's "Running..." and "Stop") are recorded too, by an observer
installed before the page loads. The uploaders state the limit their check enforces, not Streamlit's
``maxUploadSize``. With the server stopped, the connection dialog reads in Chinese.

Not looked at, on purpose: iframe documents (the maps: ``layers/web``), a table's cells (drawn on a
canvas), code blocks (commands to copy), material-icon ligatures (the text is the icon's name), iframe
titles (they name the component) and the ``aria-label`` descriptions Vega writes on chart marks.
"""
from __future__ import annotations

import ast
import contextlib
import datetime as dt
import re
import shutil
import time

import bcrypt
import pytest

from geo import auth, contract
from tests.browser import Watch, browser, serve
from tests.conftest import ROOT

MB = 1024 * 1024
#: The server's limits, unlike Streamlit's maxUploadSize (20): an uploader showing 20 MB is wrong.
PHOTO_MB, LEDGER_MB = 7, 12
USER, PASSWORD = "王工", "latin-pw"

#: Latin words a Chinese page legitimately shows, exactly as written (ND: "not detected", as lab reports write it).
UNITS = {"mg", "km", "MB", "KB", "cm", "NTU"}
STANDARDS = {"GB", "HJ", "ND", "COD", "CODMn", "BOD", "TP", "TN", "pH", "NH", "DO", "WGS", "CGCS", "GCJ", "BD", "EPSG"}
#: Parameter codes of GB 3838 / GB 8978 (the app's own list): their letter runs ("NH3-N" → "NH", "Cr6" → "Cr").
PARAMETER_WORDS = {w for code in (*contract.PARAMETERS, *contract.DISCHARGE_PARAMETERS)
                   for w in re.findall(r"[A-Za-z]{2,}", code)}
#: Names: the product, the trend test and its slope (Mann–Kendall, Sen), GIS programs, a key cap.
NAMES = {"Qingshan", "Mann", "Kendall", "Sen", "QGIS", "ArcGIS", "Ctrl"}
#: File formats, in any case (Streamlit lists an uploader's types in capitals: "XLSX, CSV, GEOJSON").
FORMATS = {"excel", "csv", "geojson", "geopackage", "gpkg", "kml", "kmz", "gpx", "pdf", "xlsx", "xlsm", "xls",
           "jpeg", "jpg", "png", "webp", "zip", "shapefile", "shp", "txt", "json", "svg"}
ALLOWED = UNITS | STANDARDS | PARAMETER_WORDS | NAMES
#: An id: capitals then digits (E009, KL001, TS2007-901).
ID = re.compile(r"[A-Z]{1,4}\d[\dA-Z-]*")


def foreign_words(text: str) -> list[str]:
    """The Latin words of ``text`` that are not on the allow-list."""
    out = []
    for m in re.finditer(r"[A-Za-z]{2,}", text):
        word = m.group(0)
        token = re.match(r"[A-Za-z0-9-]*", text[m.start():]).group(0)
        if word in ALLOWED or word.lower() in FORMATS or ID.fullmatch(token):
            continue
        out.append(word)
    return out


def test_foreign_words_tell_english_from_codes():
    """The checker itself: codes, units, formats and ids pass; English does not."""
    assert foreign_words("氨氮 NH3-N 1.5 mg/L，GB 3838-2002，WGS84 / CGCS2000，E009、KL001，XLSX, CSV") == []
    assert foreign_words("六价铬 Cr6、汞 Hg、高锰酸盐指数 CODMn、Mann–Kendall 检验") == []
    assert foreign_words("Choose an option") == ["Choose", "an", "option"]
    assert foreign_words("10MB per file") == ["per", "file"]
    assert foreign_words("文件过大 file too large") == ["file", "too", "large"]


# Installed before any page script (every navigation): window.__latinScan(root) lists the Latin strings a
# person can see (or a screen reader reads) under root; an observer records those that appear later,
# once the page's localiser (window.__qsZh) is running, checked after the page's own observers ran.
RECORDER = r"""
(() => {
  if (window !== window.top || window.__latinScan) return;
  const LATIN = /[A-Za-z]{2,}/;
  const ATTRS = ['placeholder', 'aria-label', 'title', 'alt'];
  const SVG = 'http://www.w3.org/2000/svg';
  const SKIP = '[data-testid=stIconMaterial], [data-testid=stIconEmoji], script, style, noscript, template, code, pre';
  const shown = el => {
    const r = el.getBoundingClientRect();
    if (!(r.width > 0 && r.height > 0)) return false;
    const s = getComputedStyle(el);
    return s.visibility !== 'hidden' && s.display !== 'none';
  };
  const where = el => { const t = el.closest('[data-testid]'); return el.tagName + (t ? '.' + t.dataset.testid : ''); };
  function scan(root) {
    const out = [];
    const text = n => {
      const el = n.parentElement;
      if (el && LATIN.test(n.nodeValue) && !el.closest(SKIP) && shown(el)) out.push(['text', n.nodeValue.trim(), where(el)]);
    };
    const attrs = el => {
      if (el.namespaceURI === SVG || el.closest(SKIP)) return;  // Vega's descriptions of chart marks
      for (const a of ATTRS) {
        if (a === 'title' && el.tagName === 'IFRAME') continue;
        const v = el.getAttribute(a);
        if (v && LATIN.test(v) && shown(el)) out.push([a, v, where(el)]);
      }
    };
    if (root.nodeType === 3) { text(root); return out; }
    if (root.nodeType !== 1) return out;
    attrs(root);
    const w = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (let n = w.nextNode(); n; n = w.nextNode()) (n.nodeType === 3 ? text : attrs)(n);
    return out;
  }
  window.__latinScan = scan;
  window.__latinSeen = [];
  const pending = new Set();
  let timer = null;
  const flush = () => {
    timer = null;
    const nodes = [...pending];
    pending.clear();
    if (!window.__qsZh) return;
    for (const n of nodes) if (n.isConnected) window.__latinSeen.push(...scan(n));
  };
  new MutationObserver(records => {
    for (const r of records) {
      if (r.type === 'childList') r.addedNodes.forEach(n => pending.add(n)); else pending.add(r.target);
    }
    if (!timer) timer = setTimeout(flush, 0);
  }).observe(document, {subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ATTRS});
})();
"""

SETTLED = """() => !document.querySelector('[data-testid=stStatusWidgetRunningIcon], [data-testid=stSkeleton]')
  && !document.querySelector('[data-testid=stElementContainer][data-stale=true]')"""

#: Whether the tooltip of a toolbar button (its label, as a text outside the table) is shown.
TOOLTIP_SHOWN = """label => [...document.querySelectorAll('body *')].some(e => !e.children.length
  && e.textContent.trim() === label && !e.closest('[data-testid=stElementToolbar]')
  && e.getBoundingClientRect().height > 0)"""


def page_titles() -> list[str]:
    """The title of every page ``app.py`` registers (its ``PAGES``), read from the source."""
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    titles = [kw.value.value for node in ast.walk(tree) if isinstance(node, ast.Call)
              and getattr(node.func, "attr", None) == "Page" for kw in node.keywords if kw.arg == "title"]
    assert len(titles) >= 10, titles
    return titles


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.conftest import DEMO

    d = tmp_path_factory.mktemp("latin")
    shutil.copyfile(DEMO, d / "store.gpkg")
    (d / "secrets.toml").write_text(
        auth.toml_entry(USER, bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode(), "admin"), encoding="utf-8")
    (d / "qingshan.toml").write_text(f"[attachments]\nmax_bytes = {PHOTO_MB * MB}\n[limits]\nmax_upload_mb = {LEDGER_MB}\n",
                                     encoding="utf-8")
    env = {"QINGSHAN_SECRETS": str(d / "secrets.toml"), "QINGSHAN_CONFIG": str(d / "qingshan.toml")}
    with serve(d / "store.gpkg", env=env) as url:
        yield url, d / "store.gpkg", env


def _settle(page, timeout: float = 90.0) -> None:
    """Until the script has finished and nothing stale is left, three looks in a row (a rerun may follow)."""
    calm, deadline = 0, time.time() + timeout
    while calm < 3:
        assert time.time() < deadline, "the page kept running"
        page.wait_for_timeout(250)
        calm = calm + 1 if page.evaluate(SETTLED) else 0


def _open(page, field, dropdown: str, tries: int = 3) -> None:
    """Click ``field`` until ``dropdown`` shows (a rerun finishing may close it again)."""
    for _ in range(tries):
        field.click()
        try:
            page.locator(dropdown).first.wait_for(timeout=4000)
            return
        except Exception:  # noqa: BLE001 - closed by a rerun: settle and click again
            page.keyboard.press("Escape")
            _settle(page)
    raise AssertionError(f"{dropdown} did not open")


class Seen:
    """The Latin strings seen on a page, by what was being looked at."""

    def __init__(self, page):
        self.page, self.found = page, {}

    def look(self, what: str) -> None:
        for kind, text, where in self.page.evaluate("() => window.__latinScan(document.body)"):
            self.found.setdefault((kind, text, where), what)

    def foreign(self) -> list[str]:
        for kind, text, where in self.page.evaluate("() => window.__latinSeen"):
            self.found.setdefault((kind, text, where), "(while running)")
        return sorted(f"{what}: {kind} {text!r} at {where} → {words}" for (kind, text, where), what in self.found.items()
                      if (words := foreign_words(text)))


def _dropdowns(page, seen: Seen, title: str) -> None:
    """Open the first select box (searching for what no option holds) and the first multiselect."""
    box = page.locator("[data-testid=stMain] [data-testid=stSelectbox] input").filter(visible=True)
    if box.count():
        _open(page, box.first, "[data-testid=stSelectboxVirtualDropdown]")
        seen.look(f"{title}: select box")
        page.keyboard.type("qzqzq")
        page.get_by_text("无匹配结果").or_(page.get_by_text("No results")).first.wait_for(timeout=10000)
        seen.look(f"{title}: select box, nothing found")
        page.keyboard.press("Escape")
    multi = page.locator("[data-testid=stMain] [data-testid=stMultiSelect] input").filter(visible=True)
    if multi.count():
        _open(page, multi.first, "[data-testid=stMultiSelectDropdown]")
        seen.look(f"{title}: multiselect")
        page.keyboard.press("Escape")


def _still(locator, timeout: float = 10.0) -> dict:
    """``locator``'s box once it stopped moving (the toolbar slides in when the table is hovered)."""
    box, deadline = None, time.time() + timeout
    while time.time() < deadline:
        now = locator.bounding_box()
        if now is not None and now == box:
            return now
        box = now
        locator.page.wait_for_timeout(100)
    raise AssertionError(f"{locator} kept moving")


def _table_toolbar(page, seen: Seen, title: str) -> None:
    """Hover the first table, each button of its toolbar (tooltips), then open its column list and search."""
    tables = page.locator("[data-testid=stElementContainer]:has([data-testid=stDataFrame])").filter(visible=True)
    if not tables.count():
        return
    table = tables.first
    table.evaluate("e => e.scrollIntoView({block: 'center'})")
    table.hover()
    buttons = table.locator("[data-testid=stElementToolbar] button")
    buttons.first.wait_for(timeout=10000)
    for i in range(buttons.count()):
        label = buttons.nth(i).get_attribute("aria-label")
        for attempt in range(3):  # a tooltip opens on the pointer's entering the button
            box = _still(buttons.nth(i))
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=3)
            try:
                page.wait_for_function(TOOLTIP_SHOWN, arg=label, timeout=4000)
                break
            except Exception:  # noqa: BLE001 - moved away by a rerun: hover the table again
                table.hover()
        else:
            raise AssertionError(f"{title}: no tooltip for the table's {label!r} button")
        seen.look(f"{title}: table toolbar")
    buttons.first.click()  # the column list
    page.locator("[data-testid=stDataFrameColumnVisibilityMenu]").wait_for(timeout=10000)
    seen.look(f"{title}: table columns")
    page.keyboard.press("Escape")
    table.hover()
    search = table.locator("[data-testid=stElementToolbar] button[aria-label='搜索'], "
                           "[data-testid=stElementToolbar] button[aria-label='Search']")
    if search.count():
        search.first.click()
        page.wait_for_timeout(300)
        seen.look(f"{title}: table search")
        page.keyboard.press("Escape")


def _uploaders(page) -> dict[str, str]:
    """Each visible uploader's label and the limit line it shows."""
    return dict(page.evaluate("""() => [...document.querySelectorAll('[data-testid=stFileUploader]')]
      .filter(e => e.getBoundingClientRect().height > 0)
      .map(e => [(e.querySelector('label') || {}).innerText || '',
                 (e.querySelector('[data-testid=stFileUploaderDropzoneInstructions]') || {}).innerText || ''])"""))


def _each_tab(page, seen: Seen, title: str, limits: dict) -> None:
    tabs = page.locator("[data-testid=stMain] [role=tab]").filter(visible=True)
    for i in range(max(tabs.count(), 1)):
        if tabs.count():
            tabs.nth(i).click()
            page.wait_for_timeout(200)
        seen.look(f"{title}: tab {i + 1}")
        limits.update(_uploaders(page))


def test_no_english_on_any_page(server):
    url, _, _ = server
    titles = page_titles()
    with browser((1400, 1000)) as ctx:
        ctx.add_init_script(RECORDER)
        page = ctx.new_page()
        watch = Watch(page, url)
        page.goto(url + "/data", wait_until="load")
        sidebar = page.locator("[data-testid=stSidebar]")
        sidebar.get_by_role("button", name="登录", exact=True).wait_for(timeout=90000)
        sidebar.get_by_label("用户名", exact=True).fill(USER)
        sidebar.get_by_label("密码", exact=True).fill(PASSWORD)
        sidebar.get_by_role("button", name="登录", exact=True).click()
        sidebar.get_by_role("button", name="退出登录").wait_for(timeout=60000)
        seen, limits = Seen(page), {}
        # the wall hides the navigation: it comes last, on its own
        for title in [t for t in titles if t != "大屏"]:
            page.locator("[data-testid=stSidebarNav] a", has_text=title).first.click()
            _settle(page)
            if title == "巡查登记":  # the session is still signed in: the form, its camera and uploader show
                page.get_by_role("button", name="保存检查结果").wait_for(timeout=60000)
            if title == "一企一档":  # choose a site: its file shows the uploader
                page.get_by_label("搜索点位（名称或编号）").fill("E001")
                page.keyboard.press("Enter")
                page.get_by_text("基本情况", exact=True).wait_for(timeout=60000)
                _settle(page)
            _each_tab(page, seen, title, limits)
            _dropdowns(page, seen, title)
            _table_toolbar(page, seen, title)
        page.goto(url + "/wall", wait_until="load")
        page.wait_for_selector(".qs-tile", timeout=90000)
        _settle(page)
        seen.look("大屏")
        assert page.locator("[data-testid=stMainMenu]").filter(visible=True).count() == 0, "the ⋮ menu is shown"
        bad = seen.foreign()
        assert bad == [], "English on the pages:\n" + "\n".join(bad)
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        assert watch.errors == [], watch.errors
    # each uploader states the limit its own check enforces ([attachments] max_bytes for photos,
    # [limits] max_upload_mb for ledgers, registers and lab files), never Streamlit's 20 MB
    shown = {label: line for label, line in limits.items()}
    photos = [line for label, line in shown.items() if "照片" in label]
    ledgers = [line for label, line in shown.items() if any(w in label for w in ("台账", "监测报告", "登记簿"))]
    assert len(photos) >= 2 and len(ledgers) >= 3, shown
    assert all(f"单个文件不超过 {PHOTO_MB} MB" in line for line in photos), shown
    assert all(f"单个文件不超过 {LEDGER_MB} MB" in line for line in ledgers), shown


def test_connection_dialog_reads_in_chinese(server):
    """The server stops under an open page: the dialog that says so, and the status, are Chinese."""
    _, store_path, env = server
    with browser((1400, 1000)) as ctx:
        ctx.add_init_script(RECORDER)
        page = ctx.new_page()
        with contextlib.ExitStack() as running:
            url = running.enter_context(serve(store_path, env=env))
            page.goto(url + "/assess", wait_until="load")
            page.wait_for_function("() => !!window.__qsZh", timeout=90000)
            page.locator("[data-testid=stDataFrame]").first.wait_for(timeout=90000)
            _settle(page)
        # the server is stopped here
        dialog = page.locator("[role=dialog]")
        dialog.first.wait_for(timeout=60000)
        page.wait_for_function("() => /连接/.test(document.querySelector('[role=dialog]').innerText)", timeout=10000)
        text = dialog.first.inner_text()
        assert "正在重新连接" in text, text
        seen = Seen(page)
        seen.look("connection lost")
        bad = seen.foreign()
        assert bad == [], "English while disconnected:\n" + "\n".join(bad)


def test_patrol_warnings_are_chinese():
    """The patrol page shows the plan's warnings as they are: Chinese only (geo.patrol)."""
    from geo.patrol import PatrolParams, plan_patrol
    from tests.test_patrol import LAT0, LON0, grid_stops

    day = dt.date(2007, 7, 2)
    required = plan_patrol(grid_stops(10, spacing_m=8000), (LON0, LAT0), PatrolParams(hours=1, time_limit_s=1), day=day)
    optional = plan_patrol(grid_stops(10, spacing_m=8000, kind="violations"), (LON0, LAT0),
                           PatrolParams(hours=1, time_limit_s=1), day=day)
    warnings = required.warnings + optional.warnings
    assert any("必去点位" in w for w in warnings) and any("可选点位未安排" in w for w in warnings), warnings
    assert [w for w in warnings if foreign_words(w)] == []
