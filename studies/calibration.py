"""Calibrate the scenario model on real prices and write the user's own calibration file.

The shipped calibration (inside the installed package) is never rewritten: by default the file goes to the
user data directory (``THESES_DATA_HOME`` or ``platformdirs.user_data_dir("ai-theses")``), and
``theses simulate --calibration FILE`` reads it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from theses.studies.errors import StudyError
from theses.util import writable_problem

if TYPE_CHECKING:
    from theses.data.calibration import Calibration

CALIBRATION_FILE = "calibration.json"


def user_data_dir() -> Path:
    """Where the project keeps files it writes for the user: ``THESES_DATA_HOME``, else the platform's."""
    override = os.environ.get("THESES_DATA_HOME")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("ai-theses"))


def default_calibration_path() -> Path:
    """The user's calibration file (written by ``theses calibrate`` unless ``--out`` says otherwise)."""
    return user_data_dir() / CALIBRATION_FILE


@dataclass(frozen=True)
class CalibrationRun:
    """A calibration and the file it was written to."""

    calibration: Calibration
    path: Path


def calibrate(
    *,
    data_dir: str | None = None,
    tickers: Sequence[str] | None = None,
    start: object = None,
    end: object = None,
    min_obs: int = 500,
    out: str | Path | None = None,
) -> CalibrationRun:
    """Estimate daily vols, means and a shrunk correlation from the CSVs in ``data_dir`` and write them.

    Parameters
    ----------
    data_dir : folder of ``TICKER.csv`` files (default ``THESES_DATA_DIR``).
    tickers : tickers to calibrate (default: every CSV in the folder).
    start, end : the estimation window.
    min_obs : leave out tickers with fewer daily returns.
    out : the JSON file to write (default :func:`default_calibration_path`).
    """
    from theses.data.calibration import DEFAULT_CALIBRATION, write_calibration
    from theses.data.calibration import calibrate as estimate
    from theses.data.csv_provider import CsvProvider
    from theses.data.load import load_prices

    data_dir = data_dir or os.environ.get("THESES_DATA_DIR")
    if not data_dir:
        raise StudyError("calibrate needs real prices: pass --data-dir DIR (a folder of TICKER.csv files) "
                         "or set THESES_DATA_DIR")
    if tickers is not None:
        chosen = [t.strip().upper() for t in tickers if t.strip()]
        if not chosen:
            raise StudyError('--tickers is empty; name at least two tickers, e.g. --tickers "SPY,QQQ"')
    else:
        chosen = CsvProvider(data_dir).tickers()
    if len(chosen) < 2:
        raise StudyError(f"--data-dir {data_dir}: need at least two tickers to estimate correlations")
    target = Path(out).expanduser() if out is not None else default_calibration_path()
    if target.resolve() == DEFAULT_CALIBRATION.resolve():
        raise StudyError(f"--out {target} is the calibration shipped with the package; write your own file "
                         f"(default {default_calibration_path()})")
    if target.is_dir():
        raise StudyError(f"--out {target} is a folder; give a file name such as {target / 'calibration.json'}")
    problem = writable_problem(target)
    if problem is not None:  # before the estimation, so the work is not lost at the end
        raise StudyError(f"--out {target}: {problem}; choose another file")
    prices = load_prices(chosen, start=start, end=end, source="csv", data_dir=data_dir, trim_end=True)
    calibration = estimate(prices.close, min_obs=min_obs)
    return CalibrationRun(calibration, write_calibration(calibration, target))


def read_calibration(path: str | Path | None = None) -> Calibration:
    """A calibration file (default: the one shipped with the package)."""
    from theses.data.calibration import read_calibration as read

    return read() if path is None else read(Path(path).expanduser())
