"""Virtual environments layered over the interpreter the toolkit runs with.

``--system-site-packages`` shows a new environment the base installation's packages. When
kamado itself lives in a virtual environment that is not enough: its packages (numpy,
scikit-learn, kamado) are in *that* environment's site-packages. So each new environment also
gets a ``.pth`` file that adds the parent's site directories *after* its own: whatever the
user's requirements install wins, everything else comes from the parent, and nothing is
copied.
"""

from __future__ import annotations

import importlib.util
import os
import site
import sysconfig
import venv
from pathlib import Path

BRIDGE = "_kamado_parent.pth"


def site_packages(prefix: Path) -> Path:
    return Path(sysconfig.get_path("purelib", vars={"base": str(prefix),
                                                    "platbase": str(prefix)}))


def python(prefix: Path) -> Path:
    return prefix / "bin" / "python"


def own_site_dirs() -> list[str]:
    """Where this interpreter finds its packages (kamado's environment)."""
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return [d for d in dirs if os.path.isdir(d)]


def create(prefix: Path, parent_site_dirs: list[str] | None = None) -> Path:
    """Make an environment at ``prefix`` that sees ``parent_site_dirs`` (default: this
    interpreter's) below its own packages; return its interpreter."""
    parents = own_site_dirs() if parent_site_dirs is None else parent_site_dirs
    # Without pip of its own the environment is made in milliseconds; pip comes from the
    # parent through the bridge. Only a parent without pip needs ensurepip's slow copy.
    with_pip = importlib.util.find_spec("pip") is None
    venv.EnvBuilder(system_site_packages=True, symlinks=os.name != "nt",
                    with_pip=with_pip).create(prefix)
    # addsitedir (not a bare path line) so that the parent's own .pth files count too: an
    # editable install of kamado is one.
    lines = "; ".join(f"site.addsitedir({d!r})" for d in parents)
    (site_packages(prefix) / BRIDGE).write_text(f"import site; {lines}\n" if parents else "")
    return python(prefix)


def relocate(old: Path, new: Path) -> None:
    """Point the scripts pip wrote in ``old/bin`` (their ``#!`` lines, the activate scripts)
    at ``new`` before ``old`` is renamed to it."""
    old_b, new_b = os.fsencode(str(old)), os.fsencode(str(new))
    bin_dir = old / "bin"
    for path in bin_dir.iterdir():
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 1 << 20:
            continue
        data = path.read_bytes()
        if old_b in data:
            mode = path.stat().st_mode
            path.write_bytes(data.replace(old_b, new_b))
            path.chmod(mode)
