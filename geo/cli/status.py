"""``python -m geo status``: record a site's status change, or print its history."""
from __future__ import annotations

from .. import contract, updates
from ..auth import check_cli_user
from ..contract import SITE_LAYERS
from ..datecheck import latest_allowed
from ..io.writers import write_csv
from . import add_store_arg, store_from


def add_cli(sub) -> None:
    p = sub.add_parser("status", help="record a site's status change, or show its history / 更新整治状态",
                       description="Without --set, prints the site's history. Shell use is trusted: --user is "
                                   "recorded as the author (the web page asks for a password instead).")
    add_store_arg(p)
    p.add_argument("--layer", required=True, choices=SITE_LAYERS)
    p.add_argument("--id", required=True, dest="feature_id", help="site id / 编号")
    p.add_argument("--set", dest="status", help="new status (code or Chinese word) / 新状态")
    p.add_argument("--on", dest="effective_on",
                   help="effective date (default today; a replay store's as_of) / 生效日期")
    p.add_argument("--note", default="", help="remark / 备注")
    p.add_argument("--user", help="who records it (required with --set) / 录入人")
    p.set_defaults(func=run)


def run(args) -> int:
    store = store_from(args)
    if args.status:
        user = check_cli_user(args.user, "status_update")
        res = updates.update_status(store, args.layer, args.feature_id, args.status,
                                    args.effective_on or latest_allowed(store), args.note, user)
        print(f"已记录：{res.feature_id} → {contract.status_label(res.event['status'], args.layer)}；"
              f"当前状态 {contract.status_label(res.current, args.layer)} / recorded; current status {res.current}")
    hist = updates.site_history(store, args.layer, args.feature_id)
    print(write_csv(hist, sep="\t").decode("utf-8"), end="")
    return 0
