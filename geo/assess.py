"""Township and department assessment (考核) on the scheme in ``data/assessment_<year>.toml``.

The scheme is data: blocks (one veto block, scoring blocks, a bonus block),
items with their points and how each is scored — computed from the store by a
named rule, or entered by the assessment office (``assessment_entries``: the
latest entry of the year for a unit and item counts; every entry keeps its
author and note). A township that triggers any veto item is shown as 否决 and
ranked after every township that did not, whatever its points.

Computed rules (each gives a share in [0, 1] of the item's points, with the
reason in words):

- ``closure_completion``: the township's campaign targets done (:func:`geo.progress.completion`);
- ``complaints_on_time``: complaints located in the township received this year, handled on time
  (unhandled ones not yet due do not count against it);
- ``joint_patrols``: months of the year so far in which a joint patrol visited the township's park plants or
  kilns (townships without such sites: full points);
- ``water_targets``: the township's river and reservoir sections meeting their target at their latest sampling;
- ``riverside_resolved``: riverside violations (≤ the configured limit, 200 m by default) standing on 1 January that are resolved by the date;
- ``department_pairs``: a department's paired enterprises done or not yet past their deadline.

A rule with nothing to judge (no complaints, no sections, no violations) gives full points, said so in
the reason.
"""
from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import rules
from .contract import SITE_LAYERS
from .errors import GeoError

ROOT = Path(__file__).resolve().parent.parent
SCHEME_DIR = ROOT / "data"
TABLES_NEEDED = ("townships", "rivers", "waterbodies", *SITE_LAYERS, "status_events", "sampling_points", "readings",
                 "complaints", "inspections", "inspection_visits", "assessment_entries")
RULES = ("closure_completion", "complaints_on_time", "joint_patrols", "water_targets", "riverside_resolved",
         "department_pairs")


@dataclass(frozen=True)
class Scheme:
    year: int
    title: str
    office: str
    blocks: pd.DataFrame  # id, name, points, veto, bonus
    items: pd.DataFrame  # id, block, name, points, source, rule
    department_items: pd.DataFrame

    @property
    def scoring_blocks(self) -> list[str]:
        return self.blocks.loc[~self.blocks["veto"], "id"].tolist()

    def block_name(self, block: str) -> str:
        return dict(zip(self.blocks["id"], self.blocks["name"])).get(block, block)


def scheme_path(year: int) -> Path:
    return SCHEME_DIR / f"assessment_{int(year)}.toml"


def load_scheme(year: int | None = None, path: str | Path | None = None) -> Scheme:
    """Read and check a scheme (``path``, else ``data/assessment_<year>.toml``)."""
    p = Path(path) if path is not None else scheme_path(year)
    try:
        with open(p, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise GeoError(f"没有 {year} 年度的考核方案（{p.name}）。", f"no assessment scheme for {year} ({p})") from None
    except tomllib.TOMLDecodeError as exc:
        raise GeoError(f"考核方案格式错误：{exc}", f"the assessment scheme is not valid TOML: {exc}") from exc
    blocks = pd.DataFrame(raw.get("blocks", []))
    items = pd.DataFrame(raw.get("items", []))
    dept = pd.DataFrame(raw.get("department_items", []))
    for df, cols in ((blocks, {"veto": False, "bonus": False, "points": 0.0}),
                     (items, {"points": 0.0, "rule": None}), (dept, {"points": 0.0, "rule": None})):
        for c, default in cols.items():
            if c not in df.columns:
                df[c] = default
            df[c] = df[c].fillna(default) if default is not None else df[c]
    blocks["veto"] = blocks["veto"].astype(bool)
    blocks["bonus"] = blocks["bonus"].astype(bool)
    problems = []
    if not len(blocks) or not len(items):
        problems.append("方案须有 blocks 与 items / the scheme needs blocks and items")
    else:
        for _, it in pd.concat([items, dept], ignore_index=True).iterrows():
            if it.get("source") not in ("computed", "manual"):
                problems.append(f"{it['id']}: source 应为 computed 或 manual")
            if it.get("source") == "computed" and it.get("rule") not in RULES:
                problems.append(f"{it['id']}: 未知计算规则 {it.get('rule')!r}")
        unknown = set(items["block"]) - set(blocks["id"])
        if unknown:
            problems.append(f"未知板块 {sorted(unknown)}")
        for _, b in blocks[~blocks["veto"]].iterrows():
            total = items.loc[items["block"] == b["id"], "points"].sum()
            if abs(total - b["points"]) > 1e-9:
                problems.append(f"板块 {b['name']} 分值 {b['points']:g} 与各项合计 {total:g} 不符")
        if items["id"].duplicated().any():
            problems.append("项目编号重复")
    if problems:
        raise GeoError("考核方案有误：" + "；".join(problems), "the assessment scheme is invalid", problems)
    return Scheme(int(raw.get("year", year or 0)), str(raw.get("title", "")), str(raw.get("office", "")),
                  blocks, items, dept)


# --- manual entries ------------------------------------------------------------------------

def latest_entries(entries: pd.DataFrame, year: int) -> pd.DataFrame:
    """The entry that counts for each (unit, item) of ``year``: the latest entered (table order breaks ties)."""
    e = entries[entries["year"] == year].copy()
    e["_n"] = np.arange(len(e))
    e = e.sort_values(["entered_at", "_n"], na_position="first", kind="stable")
    return e.groupby(["unit", "item"]).tail(1).drop(columns="_n").reset_index(drop=True)


def enter(store, *, year: int, unit: str, item: str, score: float, note: str = "", user: str,
          scheme: Scheme | None = None, now: dt.datetime | None = None) -> None:
    """Record a manual score (appended: earlier entries stay as history; the latest counts)."""
    from .store import Change

    scheme = scheme or load_scheme(year)
    user = (user or "").strip()
    if not user:
        raise GeoError("必须指明录入人。", "the recording user is required")
    all_items = pd.concat([scheme.items, scheme.department_items], ignore_index=True).set_index("id")
    if item not in all_items.index:
        raise GeoError(f"考核方案中没有项目“{item}”。", f"no item {item!r} in the scheme")
    spec = all_items.loc[item]
    if spec["source"] != "manual":
        raise GeoError(f"“{spec['name']}”由数据自动计算，不能手工录入。", f"item {item!r} is computed, not entered")
    try:
        score = float(score)
    except (TypeError, ValueError):
        raise GeoError("得分须为数字。", "the score must be a number") from None
    is_veto = item in set(scheme.items.loc[scheme.items["block"].isin(
        scheme.blocks.loc[scheme.blocks["veto"], "id"]), "id"])
    top = 1.0 if is_veto else float(spec["points"])
    if not np.isfinite(score) or score < 0 or score > top:
        raise GeoError(f"得分应在 0–{top:g} 之间" + ("（否决项：1 为触发，0 为未触发）" if is_veto else "") + "。",
                       f"the score must lie in 0–{top:g}")
    townships = store.read("townships")
    depts = set(store.read("enterprises").get("department", pd.Series(dtype=object)).dropna())
    units = set(townships["code"]) | depts
    if unit not in units:
        by_name = dict(zip(townships["name"], townships["code"]))
        if unit in by_name:
            unit = by_name[unit]
        else:
            raise GeoError(f"没有考核对象“{unit}”（填乡镇名称、编码或部门名称）。", f"unknown unit {unit!r}")
    if len(note or "") > 500:
        raise GeoError("说明过长（上限 500 字）。", "note too long (limit 500)")
    now = now or dt.datetime.now().replace(microsecond=0)
    row = pd.DataFrame([dict(year=int(year), unit=unit, item=item, score=score, note=(note or "").strip() or None,
                             entered_by=user, entered_at=pd.Timestamp(now))])
    store.commit([Change("assessment_entries", row, "append")])


# --- computed rules ------------------------------------------------------------------------

def _township_of(df: pd.DataFrame, townships: pd.DataFrame) -> pd.Series:
    import geopandas as gpd

    from .spatial import township_of

    if not len(df):
        return pd.Series(dtype=object)
    return township_of(gpd.GeoDataFrame(df.drop(columns="geometry"), geometry=df.geometry.values, crs="EPSG:4326"),
                       townships)


def _closure(t: dict, day: pd.Timestamp) -> dict[str, tuple[float, str]]:
    from . import progress as P

    parts = [P.completion(t, c, day) for c in P.CAMPAIGNS]
    g = pd.concat(parts).groupby("township", sort=False)[["targets", "done"]].sum()
    out = {}
    for name, r in g.iterrows():
        if r["targets"] == 0:
            out[name] = (1.0, "无关停整治任务")
        else:
            out[name] = (r["done"] / r["targets"], f"完成 {int(r['done'])}/{int(r['targets'])}")
    return out


def _complaints(t: dict, year: int, day: pd.Timestamp) -> dict[str, tuple[float, str]]:
    c = t["complaints"]
    c = c[(c["received_on"].dt.year == year) & (c["received_on"] <= day)]
    tw = _township_of(c, t["townships"])
    handled = c["handled_on"].where(c["handled_on"] <= day)
    on_time = handled.notna() & (handled <= c["due_on"])
    # Still within its time limit: not yet judged.
    judged = handled.notna() | (c["due_on"] < day)
    out = {}
    for name in t["townships"]["name"]:
        m = (tw == name).to_numpy() & judged.to_numpy()
        n = int(m.sum())
        ok = int((on_time.to_numpy() & m).sum())
        out[name] = (1.0, "无到期投诉") if n == 0 else (ok / n, f"按期办结 {ok}/{n}")
    return out


def _patrols(t: dict, year: int, day: pd.Timestamp) -> dict[str, tuple[float, str]]:
    from .inspections import is_joint_patrol
    from .progress import CHEMICAL_PARK

    months = max(day.month if day.year == year else 12, 1)
    ins = t["inspections"]
    joint = set(ins.loc[is_joint_patrol(ins) & (ins["held_on"].dt.year == year) & (ins["held_on"] <= day), "id"])
    v = t["inspection_visits"]
    v = v[v["inspection_id"].isin(joint) & v["finding"].notna()]
    held = ins.set_index("id")["held_on"]
    e, k = t["enterprises"], t["kilns"]
    park = e[e.get("park", pd.Series(None, index=e.index)) == CHEMICAL_PARK]
    cols = ["id", "layer", "geometry"]
    known = "township" in park.columns and "township" in k.columns  # a snapshot's sites carry it already
    targets = pd.concat([park.assign(layer="enterprises")[cols + ["township"] * known],
                         k.assign(layer="kilns")[cols + ["township"] * known]], ignore_index=True)
    if not known:
        import geopandas as gpd

        targets = gpd.GeoDataFrame(targets, geometry="geometry", crs="EPSG:4326")
        targets["township"] = _township_of(targets, t["townships"]).to_numpy()
    key = dict(zip(zip(targets["layer"].to_numpy(object), targets["id"].to_numpy(object)),
                   targets["township"].to_numpy(object)))
    v = v.assign(township=[key.get((a, b)) for a, b in zip(v["layer"].to_numpy(object),
                                                           v["feature_id"].to_numpy(object))],
                 month=pd.to_datetime(v["inspection_id"].map(held.to_dict())).dt.month)  # a Series map of nothing fails in pandas
    covered = v.groupby("township")["month"].nunique().to_dict()  # months with a joint visit, per township
    out = {}
    have = set(targets["township"].dropna())
    for name in t["townships"]["name"]:
        if name not in have:
            out[name] = (1.0, "无园区企业或石灰窑（棚）")
            continue
        n = int(covered.get(name, 0))
        out[name] = (min(n / months, 1.0), f"联合巡查覆盖 {n}/{months} 个月")
    return out


def _water(t: dict, day: pd.Timestamp) -> dict[str, tuple[float, str]]:
    from .water import latest_assessment

    a = latest_assessment(t, day)
    pts = t["sampling_points"]
    a = a.merge(pts[["id", "geometry"]], on="id")
    a = a[(a["kind"] == "section") & a["meets"].notna()]
    tw = _township_of(a, t["townships"]) if len(a) else pd.Series(dtype=object)
    out = {}
    for name in t["townships"]["name"]:
        m = (tw == name).to_numpy() if len(a) else np.zeros(0, bool)
        n = int(m.sum())
        ok = int(a["meets"].to_numpy(dtype=bool)[m].sum()) if n else 0
        out[name] = (1.0, "辖区内无考核断面") if n == 0 else (ok / n, f"达标断面 {ok}/{n}")
    return out


def _riverside(t: dict, year: int, day: pd.Timestamp) -> dict[str, tuple[float, str]]:
    from . import memo, progress
    from .buffers import check, violations_earlier
    from .history import active_on, replays

    jan1 = pd.Timestamp(year=year, month=1, day=1)
    limit = rules.riverside_limit_m()  # the configured limit, as the wall and the buffer page use
    of_day = t.get(progress.SNAPSHOT) == day  # a snapshot of the day: its sites hold their status on it
    if memo.KEY in t and of_day and jan1 <= day and all(replays(t, layer, jan1) for layer in SITE_LAYERS):
        # a snapshot of the day with the changes since January: January's violations from the day's (the
        # wall has them)
        start = violations_earlier(t, check(t, limit), day, jan1, limit)
    else:
        start = check(t, limit, as_of=jan1)
    # still active on the day? Only the violations of January 1st are asked about (their status on the
    # day, replayed for them alone, or as a snapshot of the day holds it), not every site measured again
    # (8 s at province scale)
    active_now = set()
    ev = t["status_events"]
    for layer in pd.unique(start["layer"]):
        ids = start.loc[start["layer"] == layer, "id"]
        if of_day:
            s = t[layer]
            act = s["id"][rules.is_active(layer, s["status"].to_numpy()) & s["id"].isin(ids).to_numpy(bool)]
            active_now |= {(layer, i) for i in act.to_numpy(object)}
        else:
            active_now |= {(layer, i) for i in active_on(ev, layer, ids, day)}
    # per township in one pass: January's violations and how many of them are fixed by the day
    fixed = np.array([(lay, i) not in active_now for lay, i in zip(start["layer"].to_numpy(object),
                                                                     start["id"].to_numpy(object))], dtype=bool)
    per = pd.DataFrame({"township": start["township"].to_numpy(object), "fixed": fixed}).groupby(
        "township", sort=False)["fixed"].agg(["size", "sum"])
    counts = dict(zip(per.index, zip(per["size"].astype(int), per["sum"].astype(int))))
    out = {}
    for name in t["townships"]["name"]:
        n, done = counts.get(name, (0, 0))
        out[name] = (1.0, "年初无沿河违规点位") if n == 0 else (done / n, f"已整改 {done}/{n}")
    return out


def _department_pairs(t: dict, day: pd.Timestamp) -> dict[str, tuple[float, str]]:
    from . import progress
    from .history import sites_on

    # a snapshot of the day holds the enterprises as they stood on it (whatever history it holds)
    e = t["enterprises"] if t.get(progress.SNAPSHOT) == day else \
        sites_on(t["enterprises"], t["status_events"], "enterprises", day)
    if "department" not in e.columns:
        return {}
    e = e[e["department"].notna()]
    done = e["status"].isin(rules.DONE["enterprises"])
    late = rules.overdue_mask(e, "enterprises", day)
    out = {}
    for dept, idx in e.groupby("department").groups.items():
        n = len(idx)
        ok = int((~late.loc[idx]).sum())
        out[dept] = (ok / n, f"结对 {n} 家：已完成 {int(done.loc[idx].sum())}，逾期 {int(late.loc[idx].sum())}")
    return out


def _computed(rule: str, t: dict, year: int, day: pd.Timestamp, cache: dict) -> dict[str, tuple[float, str]]:
    if rule not in cache:
        cache[rule] = {
            "closure_completion": lambda: _closure(t, day),
            "complaints_on_time": lambda: _complaints(t, year, day),
            "joint_patrols": lambda: _patrols(t, year, day),
            "water_targets": lambda: _water(t, day),
            "riverside_resolved": lambda: _riverside(t, year, day),
            "department_pairs": lambda: _department_pairs(t, day),
        }[rule]()
    return cache[rule]


# --- scores -------------------------------------------------------------------------------

def item_scores(frames_or_store, year: int, as_of, scheme: Scheme | None = None) -> pd.DataFrame:
    """Every township's score on every item: ``code, township, block, item, name, points, score, source, basis``
    (veto items: ``score`` 1 when triggered)."""
    scheme = scheme or load_scheme(year)
    t = frames_or_store if isinstance(frames_or_store, dict) else frames_or_store.read_many(TABLES_NEEDED)
    day = pd.Timestamp(as_of).normalize()
    entries = latest_entries(t["assessment_entries"], year)
    manual = {(u, i): (s, n, by) for u, i, s, n, by in
              zip(entries["unit"], entries["item"], entries["score"], entries["note"], entries["entered_by"])}
    veto_blocks = set(scheme.blocks.loc[scheme.blocks["veto"], "id"])
    cache: dict = {}
    rows = []
    items = [it for _, it in scheme.items.iterrows()]  # the scheme's rows once, not once per township
    for code, name in zip(t["townships"]["code"], t["townships"]["name"]):
        for it in items:
            veto = it["block"] in veto_blocks
            if it["source"] == "computed":
                share, basis = _computed(it["rule"], t, year, day, cache).get(name, (0.0, "无数据"))
                score = round(float(it["points"]) * share, 2)
            else:
                s, note, by = manual.get((code, it["id"]), (None, None, None))
                if s is None:
                    score, basis = 0.0, "未录入"
                else:
                    top = 1.0 if veto else float(it["points"])
                    score = float(min(max(s, 0.0), top))
                    basis = "；".join(x for x in (str(note) if isinstance(note, str) else "",
                                                  f"录入：{by}" if isinstance(by, str) else "") if x)
                    if veto:
                        basis = ("触发否决" if score >= 1 else "未触发") + (f"（{basis}）" if basis else "")
            rows.append(dict(code=code, township=name, block=it["block"], item=it["id"], name=it["name"],
                             points=float(it["points"]), score=score, source=it["source"], basis=basis))
    return pd.DataFrame(rows)


def township_scores(frames_or_store, year: int, as_of, scheme: Scheme | None = None) -> pd.DataFrame:
    """Columns ``township``, ``total``, ``rank``, ``veto``, then one per scoring block (block ids), plus
    ``code`` and ``veto_items`` (names of the veto items triggered) at the end.

    Vetoed townships rank after all others (they lose their standing); equal totals share a rank.
    """
    scheme = scheme or load_scheme(year)
    items = item_scores(frames_or_store, year, as_of, scheme)
    veto_blocks = set(scheme.blocks.loc[scheme.blocks["veto"], "id"])
    if not len(items):
        return pd.DataFrame(columns=["township", "total", "rank", "veto", *scheme.scoring_blocks, "code", "veto_items"])
    by_block = items[~items["block"].isin(veto_blocks)].pivot_table(
        index=["code", "township"], columns="block", values="score", aggfunc="sum", sort=False)
    by_block = by_block.reindex(columns=scheme.scoring_blocks, fill_value=0.0).round(2)
    vetoed = items[items["block"].isin(veto_blocks) & (items["score"] >= 1)]
    veto_items = vetoed.groupby("code")["name"].agg("、".join)
    out = by_block.reset_index()
    out["total"] = by_block.sum(axis=1).round(2).to_numpy()
    out["veto"] = out["code"].isin(veto_items.index)
    out["veto_items"] = out["code"].map(veto_items).fillna("")
    key = np.where(out["veto"], -1.0, out["total"])  # vetoed after all others
    out["rank"] = pd.Series(key).rank(method="min", ascending=False).astype(int).to_numpy()
    out = out.sort_values(["rank", "code"], kind="stable")
    return out[["township", "total", "rank", "veto", *scheme.scoring_blocks, "code", "veto_items"]].reset_index(drop=True)


def department_scores(frames_or_store, year: int, as_of, scheme: Scheme | None = None) -> pd.DataFrame:
    """Departments: ``department, total, rank, veto``, then one column per department item, and the basis."""
    scheme = scheme or load_scheme(year)
    t = frames_or_store if isinstance(frames_or_store, dict) else frames_or_store.read_many(TABLES_NEEDED)
    day = pd.Timestamp(as_of).normalize()
    entries = latest_entries(t["assessment_entries"], year)
    manual = {(u, i): s for u, i, s in zip(entries["unit"], entries["item"], entries["score"])}
    veto_ids = scheme.items.loc[scheme.items["block"].isin(scheme.blocks.loc[scheme.blocks["veto"], "id"]), "id"]
    depts = sorted(t["enterprises"]["department"].dropna().unique()) if "department" in t["enterprises"] else []
    cache: dict = {}
    rows = []
    for d in depts:
        row = {"department": d}
        basis = []
        for _, it in scheme.department_items.iterrows():
            if it["source"] == "computed":
                share, why = _computed(it["rule"], t, year, day, cache).get(d, (0.0, "无数据"))
                row[it["id"]] = round(float(it["points"]) * share, 2)
                basis.append(why)
            else:
                s = manual.get((d, it["id"]))
                row[it["id"]] = 0.0 if s is None else float(min(max(s, 0.0), it["points"]))
                if s is None:
                    basis.append(f"{it['name']}未录入")
        hit = [v for v in veto_ids if manual.get((d, v), 0) >= 1]
        row["veto"] = bool(hit)
        row["total"] = round(sum(row[i] for i in scheme.department_items["id"]), 2)
        row["basis"] = "；".join(basis)
        rows.append(row)
    out = pd.DataFrame(rows, columns=["department", *scheme.department_items["id"], "veto", "total", "basis"])
    key = np.where(out["veto"].astype(bool), -1.0, out["total"].astype(float)) if len(out) else []
    out["rank"] = pd.Series(key, dtype=float).rank(method="min", ascending=False).astype(int).to_numpy()
    cols = ["department", "total", "rank", "veto", *scheme.department_items["id"], "basis"]
    return out.sort_values(["rank", "department"], kind="stable")[cols].reset_index(drop=True)


# --- outputs -------------------------------------------------------------------------------

def labelled(scores: pd.DataFrame, scheme: Scheme) -> pd.DataFrame:
    """Township scores with Chinese headers; the veto shown as words (否决：…)."""
    out = scores.copy()
    out["veto"] = [f"否决：{v}" if f else "—" for f, v in zip(out["veto"], out["veto_items"])]
    names = {b: scheme.block_name(b) for b in scheme.scoring_blocks}
    out = out.drop(columns=["code", "veto_items"]).rename(
        columns={"township": "乡镇（街道）", "total": "总分", "rank": "名次", "veto": "一票否决", **names})
    return out


def to_csv(scores: pd.DataFrame, scheme: Scheme) -> bytes:
    """CSV (UTF-8 with BOM): ``township,total,rank,veto`` then one column per scoring block (block ids);
    written by :func:`geo.io.writers.write_csv` (no formula from a name)."""
    from .io.writers import write_csv

    cols = ["township", "total", "rank", "veto", *scheme.scoring_blocks]
    return write_csv(scores[cols], dialect="for_machines", bom=True)


def circular_meta(frames_or_store, year: int, as_of, scheme: "Scheme", generated_by: str | None = None):
    """What the circular is (:class:`geo.io.writers.Meta`): the scheme, its scale and veto rule, the date."""
    from .io.writers import Meta

    version = None if isinstance(frames_or_store, dict) else frames_or_store.version()
    return Meta(title=f"关于{scheme.title}情况的通报",
                rule=f"{scheme.title}：百分制，六个板块（一票否决类指标、组织机制、生态发展、生态创建、生态保护、加分项）；"
                     "计算项由数据得出，其余由考核办录入；被一票否决的乡镇排在其他乡镇之后",
                parameters={"考核年度": int(year), "考核单位": scheme.office}, as_of=pd.Timestamp(as_of).date(),
                data_version=version, generated_by=generated_by)


def to_xlsx(frames_or_store, year: int, as_of, scheme: Scheme | None = None, generated_by: str | None = None) -> bytes:
    """The circular's tables as xlsx: township ranking, item details, departments (text never a formula)."""
    from .progress import to_xlsx as write

    scheme = scheme or load_scheme(year)
    meta = circular_meta(frames_or_store, year, as_of, scheme, generated_by)
    t = frames_or_store if isinstance(frames_or_store, dict) else frames_or_store.read_many(TABLES_NEEDED)
    scores = township_scores(t, year, as_of, scheme)
    items = item_scores(t, year, as_of, scheme)
    detail = items.assign(block=items["block"].map(scheme.block_name)).rename(columns={
        "township": "乡镇（街道）", "block": "板块", "name": "考核项目", "points": "分值", "score": "得分",
        "source": "计分方式", "basis": "依据"}).drop(columns=["code", "item"])
    detail["计分方式"] = detail["计分方式"].map({"computed": "数据计算", "manual": "考核办录入"})
    depts = department_scores(t, year, as_of, scheme)
    dept_names = dict(zip(scheme.department_items["id"], scheme.department_items["name"]))
    depts = depts.assign(veto=np.where(depts["veto"], "否决", "—")).rename(columns={
        "department": "部门", "total": "总分", "rank": "名次", "veto": "一票否决", "basis": "依据", **dept_names})
    return write({"乡镇排名": labelled(scores, scheme), "评分明细": detail, "部门考核": depts}, meta=meta)


#: The circular's addressees (主送机关): the townships assessed and the departments paired with them.
CIRCULAR_ADDRESSEES = "各乡镇人民政府、街道办事处，区级有关部门："


def circular_pdf(frames_or_store, year: int, as_of, scheme: Scheme | None = None,
                 generated_by: str | None = None) -> bytes:
    """The assessment circular (通报) as PDF, laid out after GB/T 9704: title, 主送 (:data:`CIRCULAR_ADDRESSEES`),
    ranking, vetoes, top and bottom, item details, departments, then 落款 (the scheme's office) and 成文日期
    (the as-of day, ``2007年6月30日``) right-aligned, and the statement as a note; pages ``第 i 页 共 N 页``."""
    from .casepdf import Doc

    scheme = scheme or load_scheme(year)
    t = frames_or_store if isinstance(frames_or_store, dict) else frames_or_store.read_many(TABLES_NEEDED)
    day = pd.Timestamp(as_of)
    scores = township_scores(t, year, day, scheme)
    # GB/T 9704 layout: 主送 under the title, 落款 (the scheme's office) and 成文日期 (the as-of day) at the end
    doc = Doc(f"关于{scheme.title}情况的通报", meta=circular_meta(frames_or_store, year, day, scheme, generated_by),
              addressee=CIRCULAR_ADDRESSEES, issuer=scheme.office or None, signed_on=day)
    doc.para(f"现将{scheme.title}截至{day.year}年{day.month}月{day.day}日的情况通报如下。")
    ok = scores[~scores["veto"]]
    if len(ok):
        top, bottom = ok.iloc[0], ok.iloc[-1]
        doc.para(f"参加考核乡镇（街道）{len(scores)} 个。得分最高的是{top['township']}（{top['total']:.1f} 分），"
                 f"最低的是{bottom['township']}（{bottom['total']:.1f} 分）。")
    vetoed = scores[scores["veto"]]
    if len(vetoed):
        doc.para("一票否决：" + "；".join(f"{r['township']}（{r['veto_items']}）" for _, r in vetoed.iterrows())
                 + "。被否决的乡镇不参加评先，排在其他乡镇之后。")
    else:
        doc.para("本期无乡镇触发一票否决。")
    doc.heading("一、乡镇（街道）得分与排名").table(labelled(scores, scheme))
    items = item_scores(t, year, day, scheme)
    low = items[(items["source"] == "computed") & (items["score"] < items["points"])]
    if len(low):
        doc.heading("二、失分项目（数据计算）").table(low.assign(板块=low["block"].map(scheme.block_name)).rename(
            columns={"township": "乡镇", "name": "项目", "points": "分值", "score": "得分", "basis": "依据"})[
            ["乡镇", "板块", "项目", "分值", "得分", "依据"]])
    depts = department_scores(t, year, day, scheme)
    doc.heading("三、部门考核").table(depts.assign(veto=np.where(depts["veto"], "否决", "—")).rename(
        columns={"department": "部门", "total": "总分", "rank": "名次", "veto": "一票否决", "basis": "依据"})[
        ["部门", "总分", "名次", "一票否决", "依据"]])
    return doc.pdf()
