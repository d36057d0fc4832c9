"""Streamlit glue shared by the casework pages: sign-in (the same session account as /data), escaping, links.

Sign-in is ``login_ui.py`` (password form against the deployment's accounts, throttled by
``geo.auth.login`` across sessions and processes) and stores the account under the same session key,
so one login serves every page.
"""
from __future__ import annotations

import math
from pathlib import Path
from urllib.parse import urlencode

import streamlit as st
import streamlit.components.v1 as components

import ui
from geo import auth
from geo.contract import SITE_LAYERS

#: "use my location": a tiny component served from this folder by the app itself (no build, no CDN).
GEOLOCATE_DIR = Path(__file__).resolve().parent / "components" / "geolocate"
_geolocate = components.declare_component("geolocate", path=str(GEOLOCATE_DIR))


def md(text) -> str:
    """``text`` safe inside Streamlit markdown (:func:`ui.md_escape`: markdown, HTML, math, links)."""
    return ui.md_escape(text)


def site_link(layer: str, feature_id: str) -> str:
    """Relative URL of a site's file page (``/site?layer=…&id=…``)."""
    return "site?" + urlencode({"layer": layer, "id": feature_id})


def site_links(layers, ids) -> list[str | None]:
    """:func:`site_link` per row, ``None`` where the row is not a site of a site layer (no file to open)."""
    return [site_link(lay, str(fid)) if lay in SITE_LAYERS and isinstance(fid, str) and fid else None
            for lay, fid in zip(layers, ids)]


def link_column(label: str = "一企一档") -> dict:
    """``column_config`` showing the column ``label`` of :func:`site_links` as a 查看档案 link."""
    return {label: st.column_config.LinkColumn(label, display_text="查看档案")}


def geolocate(key: str, label: str = "使用我的位置") -> dict | None:
    """A full-width button that asks the browser for the phone's position (``navigator.geolocation``).

    Returns what the browser last answered: ``{"lon", "lat", "accuracy", "t"}`` or ``{"error", "t"}``
    (``t`` tells one answer from the next), ``None`` before the first tap. Use :func:`device_location` to
    read it: it comes from the client and is checked like any input.
    """
    return _geolocate(label=label, key=key, default=None)


def device_location(value) -> tuple[float, float, float | None] | None:
    """``(lon, lat, accuracy in metres)`` from a :func:`geolocate` answer, or ``None`` when it holds no valid
    WGS84 position (an error, or anything malformed)."""
    if not isinstance(value, dict):
        return None
    try:
        lon, lat = float(value["lon"]), float(value["lat"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        return None
    try:
        acc = float(value.get("accuracy"))
    except (TypeError, ValueError):
        acc = None
    return lon, lat, acc if acc is not None and math.isfinite(acc) and acc >= 0 else None


def account() -> auth.Account | None:
    """The signed-in account of this session (:func:`login_ui.current_account`)."""
    from login_ui import current_account

    return current_account()


def login_box(where=None) -> auth.Account | None:
    """The one sign-in (:func:`login_ui.login_box`, throttled by :func:`geo.auth.login`); the account."""
    from login_ui import login_box as sign_in

    return sign_in(where, key="cw_")


def may(acc: auth.Account | None, action: str) -> bool:
    """Whether ``acc`` may ``action``; says why not (plainly) when it may not."""
    if acc is None:
        st.info("登录后可登记。查看无需登录。")
        return False
    if not auth.can(acc, action):
        st.warning(f"当前账号（{auth.ROLE_LABELS.get(acc.role, acc.role)}）无权{auth.ACTION_LABELS[action]}。")
        return False
    return True


def show_error(exc) -> None:
    """A :class:`geo.errors.GeoError` (or a store refusal) in Chinese, its problems as a table.

    The Chinese is the message; the English, when it says more than a copy of it, follows as a small second
    line (for whoever passes the refusal on to a developer), never alone and never first.
    """
    import pandas as pd

    zh, en = getattr(exc, "zh", None) or "操作失败，未写入任何数据。", getattr(exc, "en", None) or str(exc)
    st.error(md(zh) if not en or en.strip() == zh.strip() else f"{md(zh)}\n\n:small[{md(en)}]")
    problems = getattr(exc, "problems", None) or []
    if problems:
        st.dataframe(pd.DataFrame([{"问题": str(p)} for p in problems[:200]]), hide_index=True)


def inspection_from_plan(plan, get_store) -> list[str] | None:
    """The 转为巡查 box of /patrol: a signed-in inspector or planner turns the planned patrol into one inspection
    per team with the team's stops (one commit; the author recorded); returns the new inspections' ids once made.

    The plan is converted once: the ids are remembered with the plan, so a second click cannot make twins.
    """
    from geo import inspections as insp
    from geo.contract import INSPECTION_KIND_LABELS
    from geo.errors import GeoError
    from geo.store import StoreError

    st.subheader("转为巡查")
    st.caption("把这份路线按组登记为巡查（每组一个巡查，含该组各站点，按路线顺序），巡查员即可在“巡查登记”页逐点"
               "记录检查结果。监测断面不是企业、窑、养殖场，不列为巡查点位；排污口采样计入所属企业。")

    def made_text(made: list[tuple[str, str, int]]) -> str:
        return (f"已生成 {len(made)} 个巡查：" + "；".join(f"{md(i)}（{md(t)}，{n} 个点位）" for i, t, n in made)
                + "。")

    made = st.session_state.get("cw_plan_inspection")
    if made and made[0] is plan:  # the plan itself is kept: an id() could be reused by the next plan
        st.success(f"已转为巡查。{made_text(made[1])}[去登记检查结果](inspect)")
        return [i for i, _, _ in made[1]]
    acc = login_box()
    if not may(acc, "inspect"):
        return None
    kinds = list(INSPECTION_KIND_LABELS)
    with st.form("cw_from_plan"):
        kind = st.selectbox("巡查类型", kinds, format_func=INSPECTION_KIND_LABELS.get, key="cw_p_kind",
                            placeholder="选择巡查类型")
        departments = st.text_input(f"参加部门（用“、”分隔；联合巡查至少 {insp.JOINT_MIN_DEPARTMENTS} 个部门）",
                                    key="cw_p_departments", max_chars=200)
        team = st.text_input("巡查组名称前缀（可空；每组巡查以“第一组”等命名）", key="cw_p_team", max_chars=60)
        held_on = st.date_input("巡查日期", value=plan.day, key="cw_p_day")
        note = st.text_input("备注（可空）", key="cw_p_note", max_chars=200)
        submitted = st.form_submit_button("转为巡查", type="primary")
    if not submitted:
        return None
    try:
        ids = insp.from_plan(get_store(), plan, kind=kind, departments=departments, team=team.strip(),
                             note=note.strip(), user=acc.name, held_on=held_on)
    except (GeoError, StoreError) as exc:
        show_error(exc)
        return None
    store = get_store()
    teams = store.read("inspections", where={"id": ids}).set_index("id")["team"]
    made = [(i, teams.get(i) if isinstance(teams.get(i), str) else "", len(insp.stops_of(store, i))) for i in ids]
    st.session_state["cw_plan_inspection"] = (plan, made)
    st.success(f"{made_text(made)}登记人 {md(acc.name)}。[去登记检查结果](inspect)")
    return ids
