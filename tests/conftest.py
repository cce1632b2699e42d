"""Shared fixtures: where the real price CSVs are, and an isolated cache per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO_ROOT = Path(__file__).resolve().parents[1]


# Property and fuzz tests (tests/fuzz): the same examples on every run ("ci", the default: derandomized, no
# example database), bounded by each test's max_examples; "explore" draws new random examples for a local hunt
# (HYPOTHESIS_PROFILE=explore).
settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "explore", derandomize=False, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _required(flag: str) -> bool:
    """True when a missing resource must fail the run instead of skipping (set by .ci/run)."""
    return os.environ.get(flag) == "1" or os.environ.get("CI") == "true"


def real_data_dir_or_none() -> Path | None:
    """The directory of real price CSVs: THESES_DATA_DIR, else ../shared/data/prices beside the checkout."""
    candidates = [os.environ.get("THESES_DATA_DIR"), REPO_ROOT.parent / "shared" / "data" / "prices"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "SPY.csv").is_file():
            return Path(candidate).resolve()
    return None


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """Real CSV directory; skips outside CI when absent, fails in CI (never a silent skip there)."""
    found = real_data_dir_or_none()
    if found is None:
        message = "real price CSVs not found: set THESES_DATA_DIR to the prices directory"
        if _required("THESES_REQUIRE_REAL_DATA"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own price cache and user data folder, so no test reads what another (or the user) wrote."""
    monkeypatch.setenv("THESES_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("THESES_DATA_HOME", str(tmp_path_factory.mktemp("data-home")))
