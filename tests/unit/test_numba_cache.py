"""The numba cache folder: chosen by one explicit function, probed, with a one-line note on a bad user setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from numba.core import config as numba_config

from theses import util

TINY_BACKTEST = (
    "import numpy as np, pandas as pd\n"
    "from theses.engine import backtest\n"
    "p = pd.DataFrame({'A': np.linspace(1, 2, 10)}, index=pd.bdate_range('2020-01-01', periods=10))\n"
    "print(round(backtest(p, p * 0 + 1.0).equity.iloc[-1], 6))\n"
)


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    environ.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=300)


@pytest.fixture
def fresh(monkeypatch):
    """configure_numba_cache as in a new process; numba's own setting restored afterwards."""
    monkeypatch.setattr(util, "_numba_cache_dir", None)
    monkeypatch.setattr(numba_config, "CACHE_DIR", numba_config.CACHE_DIR)
    return monkeypatch


def test_user_folder_under_a_file_falls_back_with_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    cache_home = tmp_path / "home-cache"
    # THESES_JIT=1: a backtest this small would otherwise run on the interpreted twin and never load numba.
    done = _run(TINY_BACKTEST, NUMBA_CACHE_DIR=str(blocker / "numba"), XDG_CACHE_HOME=str(cache_home), THESES_JIT="1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "18000.0"  # 10,000 in A from bar 1 (price 1 1/9) to bar 9 (price 2)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"note: NUMBA_CACHE_DIR={blocker / 'numba'} is not usable (")
    assert str(cache_home / "ai-theses" / "numba") in lines[0]


def test_read_only_user_folder_falls_back(fresh, tmp_path, capsys):
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    real_write = Path.write_bytes

    def refuse(self, data):  # what a read-only folder does to a non-root user
        if self.parent == read_only:
            raise PermissionError(13, "Permission denied")
        return real_write(self, data)

    fresh.setattr(Path, "write_bytes", refuse)
    fresh.setenv("NUMBA_CACHE_DIR", str(read_only))
    fresh.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    chosen = util.configure_numba_cache()
    assert chosen == str(tmp_path / "cache" / "ai-theses" / "numba")
    assert numba_config.CACHE_DIR == chosen
    err = capsys.readouterr().err
    assert err == (f"note: NUMBA_CACHE_DIR={read_only} is not usable (Permission denied); caching compiled "
                   f"kernels in {chosen} instead\n")
    assert util.configure_numba_cache() == chosen  # once per process: no second probe, no second note
    assert capsys.readouterr().err == ""


def test_usable_user_folder_is_kept_silently(fresh, tmp_path, capsys):
    fresh.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine" / "numba"))
    assert util.configure_numba_cache() == str(tmp_path / "mine" / "numba")
    assert (tmp_path / "mine" / "numba").is_dir()
    assert capsys.readouterr().err == ""


def test_unwritable_user_cache_dir_falls_back_to_temp(fresh, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    fresh.delenv("NUMBA_CACHE_DIR", raising=False)
    fresh.setenv("XDG_CACHE_HOME", str(blocker))  # the user cache dir would be under a file
    fresh.setattr(util.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    chosen = util.configure_numba_cache()
    assert chosen is not None and chosen.startswith(str(tmp_path / "tmp" / "ai-theses-numba-"))


def test_importing_the_engine_leaves_the_environment_alone(tmp_path):
    code = ("import os\nimport theses.engine\nimport theses.engine.kernels\nfrom numba.core import config\n"
            "print(os.environ.get('NUMBA_CACHE_DIR'), config.CACHE_DIR)\n")
    done = _run(code, XDG_CACHE_HOME=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", str(tmp_path / "ai-theses" / "numba")]
    assert done.stderr == ""


@pytest.mark.parametrize(("user", "expected"), [
    ({}, util.OPENMP_SPINS),
    ({"GOMP_SPINCOUNT": "5"}, "5"),
    ({"OMP_WAIT_POLICY": "active"}, None),
])
def test_openmp_workers_spin_briefly_unless_the_user_chose(monkeypatch, user, expected):
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    for name, value in user.items():
        monkeypatch.setenv(name, value)
    assert util.quiet_idle_openmp_workers() == (None if user else util.OPENMP_SPINS)
    assert os.environ.get("GOMP_SPINCOUNT") == expected


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc to see the loaded libraries")
def test_the_spin_count_is_set_before_openmp_is_loaded():
    # libgomp reads GOMP_SPINCOUNT once, when it is loaded: the kernel modules must set it before any kernel runs.
    code = (
        "import os\n"
        "from theses.engine import kernels\n"
        "print(os.environ.get('GOMP_SPINCOUNT'), 'libgomp' in open('/proc/self/maps').read())\n"
    )
    environ = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [util.OPENMP_SPINS, "False"]
