"""`kamado quickstart`, the README's first command: the whole loop on an embedded server."""

from __future__ import annotations

import os
import re
import subprocess
import sys


def test_quickstart_trains_deploys_invokes_and_transforms(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAMADO_", "AWS_"))}
    env.update(HOME=str(tmp_path), COLUMNS="120")
    out = subprocess.run([sys.executable, "-m", "kamado.cli.main", "quickstart", "--home",
                          str(tmp_path / "home")], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]

    def value(label: str) -> float:
        m = re.search(rf"{re.escape(label)}\s*│\s*([\d.e+-]+)", out.stdout)
        assert m, f"{label!r} missing from\n{out.stdout}"
        return float(m.group(1))
    assert value("training validation:auc") > 0.95
    assert value("endpoint test AUC") > 0.95
    assert value("batch transform rows") == 143
    assert value("max |transform − endpoint|") == 0.0
    # nothing was written outside the home it was given (no AWS profile, no ~/.kamado)
    assert not (tmp_path / ".aws").exists() and not (tmp_path / ".kamado").exists()
