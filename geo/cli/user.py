"""``python -m geo user add NAME --role ROLE``: hash a password and print the account's secrets lines."""
from __future__ import annotations

import getpass
import sys

from .. import auth
from ..errors import GeoError


def add_cli(sub) -> None:
    p = sub.add_parser("user", help="accounts for the web page (prints secrets.toml lines) / 账号")
    usub = p.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    a = usub.add_parser("add", help="hash a password and print the account's secrets.toml lines / 新建账号",
                        description="Reads the password from the terminal (no echo) or from stdin, and prints "
                                    "the TOML lines to paste into .streamlit/secrets.toml (or $QINGSHAN_SECRETS).")
    a.add_argument("name", help="login name / 登录名")
    a.add_argument("--role", required=True, choices=auth.ROLES, help="inspector, planner or admin / 角色")
    a.set_defaults(func=add)


def add(args) -> int:
    name = auth.login_name(args.name)  # before asking for a password
    if sys.stdin.isatty():
        pw = getpass.getpass("密码 / password: ")
        if getpass.getpass("再次输入 / again: ") != pw:
            raise GeoError("两次输入的密码不一致。", "the passwords differ")
    else:
        pw = sys.stdin.readline().rstrip("\r\n")
    sys.stdout.write(auth.new_account(name, pw, args.role))
    print(f"# 请将以上内容加入 {auth.secrets_path()} / add the lines above to that file", file=sys.stderr)
    return 0
