"""The phone inspection page in headless Chromium at 390×844: no horizontal scroll, big touch targets,
a finding recorded by a signed-in inspector."""
from __future__ import annotations

import shutil
import time

import bcrypt
import pytest

from geo import auth
from geo.store import open_store
from tests.browser import Watch, browser, serve

PHONE = (390, 844)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.conftest import DEMO

    d = tmp_path_factory.mktemp("inspect")
    shutil.copyfile(DEMO, d / "store.gpkg")
    secrets = d / "secrets.toml"
    secrets.write_text(auth.toml_entry("li", bcrypt.hashpw(b"inspector-pw", bcrypt.gensalt(4)).decode(), "inspector"),
                       encoding="utf-8")
    with serve(d / "store.gpkg", env={"QINGSHAN_SECRETS": str(secrets)}) as url:
        yield url, d / "store.gpkg"


def _layout(page) -> dict:
    return page.evaluate("""() => {
      const vis = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
      const buttons = [...document.querySelectorAll('[data-testid="stMain"] button')].filter(vis)
        .filter(b => b.innerText.trim().length > 0);
      return {scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
              buttons: buttons.map(b => [b.innerText.trim(), b.getBoundingClientRect().height,
                                         b.getBoundingClientRect().right])};
    }""")


def test_phone_page_fits_and_records_a_finding(server):
    url, store_path = server
    with browser(PHONE) as ctx:
        page = ctx.new_page()
        watch = Watch(page, url)
        page.goto(url + "/inspect", wait_until="load")
        page.get_by_text("巡查登记", exact=True).first.wait_for(timeout=60000)
        page.get_by_role("button", name="登录").wait_for(timeout=30000)
        lay = _layout(page)
        assert lay["scroll"] <= PHONE[0], lay
        page.get_by_label("用户名").fill("li")
        page.get_by_label("密码").fill("inspector-pw")
        page.get_by_role("button", name="登录").click()
        page.get_by_role("button", name="保存检查结果").wait_for(timeout=60000)
        time.sleep(1.0)
        lay = _layout(page)
        assert lay["scroll"] <= PHONE[0], lay
        big = {name: h for name, h, right in lay["buttons"]}
        assert big.get("保存检查结果", 0) >= 44 and big.get("退出登录", 0) >= 44, lay
        assert all(right <= PHONE[0] for _, _, right in lay["buttons"]), lay
        radios = page.evaluate("""() => [...document.querySelectorAll('div[role="radiogroup"] label')]
            .map(l => l.getBoundingClientRect().height)""")
        assert radios and min(radios) >= 44, radios
        page.get_by_text("未找到", exact=True).click()
        page.get_by_label("备注").fill("大门紧锁，无人")
        page.get_by_role("button", name="保存检查结果").click()
        page.get_by_text("已保存。").wait_for(timeout=60000)
        assert _layout(page)["scroll"] <= PHONE[0]
        assert watch.errors == [], watch.errors
        assert watch.external == [], watch.external
    v = open_store(store_path).read("inspection_visits")
    hit = v[v["note"] == "大门紧锁，无人"]
    assert len(hit) == 1 and hit["finding"].iat[0] == "not_found" and hit["recorded_by"].iat[0] == "li"
