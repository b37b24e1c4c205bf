"""``tradesys admin create``: the first operator account, password from the environment."""

from __future__ import annotations

import os
import subprocess
import sys

from tradesys.db.migrate import upgrade
from tradesys.identity.credit_code import make_credit_code


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tradesys.cli", *args], capture_output=True,
                          text=True, timeout=120, check=False, env={**os.environ, **env})


def test_admin_create_then_refuse_bad_input(empty_database: str) -> None:
    url = empty_database
    upgrade(url)
    code = make_credit_code("91350100M000100Y4")
    good = _cli({"TRADESYS_ADMIN_PASSWORD": "a-long-password"}, "admin", "create",
                "--database", url, "--username", "ops", "--org-name", "运营方",
                "--credit-code", code)
    assert good.returncode == 0, good.stderr
    assert "a-long-password" not in good.stdout + good.stderr
    again = _cli({"TRADESYS_ADMIN_PASSWORD": "a-long-password"}, "admin", "create",
                 "--database", url, "--username", "ops", "--org-name", "运营方",
                 "--credit-code", code)
    assert again.returncode == 2 and "用户名已被使用" in again.stderr
    weak = _cli({"TRADESYS_ADMIN_PASSWORD": "short"}, "admin", "create", "--database", url,
                "--username", "ops2", "--org-name", "运营方", "--credit-code", code)
    assert weak.returncode == 2 and "密码至少" in weak.stderr
    bad_code = _cli({"TRADESYS_ADMIN_PASSWORD": "a-long-password"}, "admin", "create",
                    "--database", url, "--username", "ops3", "--org-name", "另一运营方",
                    "--credit-code", "91350100M000100Y44")
    assert bad_code.returncode == 2 and "统一社会信用代码无效" in bad_code.stderr
