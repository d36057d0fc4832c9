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
        # the form is whole once its radio choices and the sign-out button are drawn: wait for that, not a clock
        page.locator('div[role="radiogroup"] label').first.wait_for(timeout=60000)
        page.get_by_role("button", name="退出登录").wait_for(timeout=60000)
        page.wait_for_function("""() => [...document.querySelectorAll('div[role="radiogroup"] label')]
            .every(l => l.getBoundingClientRect().height > 0)""", timeout=60000)
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


def _login(page, url):
    page.goto(url + "/inspect", wait_until="load")
    page.get_by_role("button", name="登录").wait_for(timeout=60000)
    page.get_by_label("用户名").fill("li")
    page.get_by_label("密码").fill("inspector-pw")
    page.get_by_role("button", name="登录").click()
    page.get_by_role("button", name="保存检查结果").wait_for(timeout=60000)


def _geo_frame(page, timeout: float = 60.0):
    """The local geolocation component (served by the app: /component/casework_ui.geolocate), once drawn.

    Reached through its iframe element (a frame locator): ``page.frames`` does not always list a frame
    React adds after the page loaded.
    """
    frame = page.frame_locator('iframe[title="casework_ui.geolocate"]')
    frame.locator("#go").wait_for(timeout=timeout * 1000)
    return frame


def test_use_my_location_fills_the_place_of_the_finding(server):
    url, store_path = server
    with browser(PHONE) as ctx:
        ctx.grant_permissions(["geolocation"], origin=url)
        ctx.set_geolocation({"longitude": 118.912345, "latitude": 28.987654, "accuracy": 12})
        page = ctx.new_page()
        watch = Watch(page, url)
        _login(page, url)
        frame = _geo_frame(page)
        button = frame.locator("#go")
        assert button.inner_text() == "使用我的位置"
        assert "casework_ui.geolocate" in page.locator('iframe[title="casework_ui.geolocate"]').get_attribute("src")
        box = button.bounding_box()
        assert box["height"] >= 44 and box["x"] + box["width"] <= PHONE[0], box
        button.click()
        field = page.get_by_label("现场位置（可空：经度,纬度，WGS84）")
        deadline = time.time() + 30
        while time.time() < deadline and field.input_value() != "118.912345,28.987654":
            time.sleep(0.3)
        assert field.input_value() == "118.912345,28.987654"
        page.get_by_text("精度约 12 米", exact=False).first.wait_for(timeout=30000)
        assert _layout(page)["scroll"] <= PHONE[0]
        page.get_by_text("正常", exact=True).click()
        page.get_by_label("备注").fill("定位测试")
        page.get_by_role("button", name="保存检查结果").click()
        page.get_by_text("已保存。").wait_for(timeout=60000)
        assert watch.errors == [] and watch.external == [], (watch.errors, watch.external)
    v = open_store(store_path).read("inspection_visits")
    hit = v[v["note"] == "定位测试"]
    assert len(hit) == 1 and hit["located_by"].iat[0] == "device"
    g = hit.geometry.iat[0]
    assert (round(g.x, 6), round(g.y, 6)) == (118.912345, 28.987654)


def test_without_permission_the_manual_field_remains(server):
    url, store_path = server
    with browser(PHONE) as ctx:  # no geolocation permission granted: the browser refuses
        page = ctx.new_page()
        watch = Watch(page, url)
        _login(page, url)
        frame = _geo_frame(page)
        frame.locator("#go").click()
        frame.get_by_text("请在下方手工填写", exact=False).wait_for(timeout=30000)
        field = page.get_by_label("现场位置（可空：经度,纬度，WGS84）")
        assert field.input_value() == ""
        field.fill("118.9001,28.9802")
        page.get_by_text("违规", exact=True).click()
        page.get_by_label("备注").fill("手工定位")
        page.get_by_role("button", name="保存检查结果").click()
        page.get_by_text("已保存。").wait_for(timeout=60000)
        assert watch.errors == [] and watch.external == [], (watch.errors, watch.external)
    v = open_store(store_path).read("inspection_visits")
    hit = v[v["note"] == "手工定位"]
    assert len(hit) == 1 and hit["finding"].iat[0] == "violation"
    assert (round(hit.geometry.iat[0].x, 4), round(hit.geometry.iat[0].y, 4)) == (118.9001, 28.9802)
