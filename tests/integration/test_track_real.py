"""``theses track`` on the real CSVs: calibrated before the essay, every book's realised path in every fan, the odds."""

from __future__ import annotations

import json

import numpy as np
import pytest

from theses.cli.main import main

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def document(real_data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("track-real")
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["track", "--data-dir", str(real_data_dir), "--source", "csv", "--paths", "60",
                     "--confusion-paths", "40", "--years", "3", "--format", "json",
                     "--out", str(out / "report")])
    assert code == 0
    return json.loads(buffer.getvalue()), out / "report"


def test_track_on_real_prices(document):
    doc, report = document
    assert doc["calibration_end"] == "2024-11-29" and doc["start"] == "2024-12-02"
    assert set(doc["prior"]) == set(doc["posterior"]) == {"damp_squib", "typical_cycle", "jetsons", "take_off",
                                                         "bubble_2027"}
    assert sum(doc["posterior"].values()) == pytest.approx(1.0)
    factors = doc["log_bayes_factors"]
    assert set(factors["drift"]) == {"total", "ai_platforms", "compute", "autonomy", "legacy_autos",
                                     "obvious_losers", "europe", "index", "broad_market"}
    # The drifts say little in under two years; volatility alone would say a lot (the calibration is older).
    assert max(abs(v) for v in factors["drift"]["total"].values()) < 3.0
    assert max(abs(v) for v in factors["volatility"]["total"].values()) > 10.0
    books = set(doc["realised_percentile"]["jetsons"])
    assert {"essay_book", "bubble_watch", "jevons_dip", "SPY", "RSP", "group:compute"} <= books
    assert doc["event_study"]["series"]["NVDA"]["drop"] == pytest.approx(-0.1697, abs=1e-3)
    page = (report / "index.html").read_text(encoding="utf-8")
    from tests.unit.test_track import stored_figures

    figures = stored_figures(page)
    fans = [key for key in figures if key.startswith("fan/")]
    assert len(fans) == 5
    for key in fans:
        names = [trace.get("name", "") for trace in figures[key]["data"]]
        assert sum(n.endswith(": realised") for n in names) == len(books)
    assert np.isclose(sum(doc["confusion"]["counts"]["jetsons"].values()), 40)
    before, after = doc["decision_before"], doc["decision_after"]
    assert before["verdict"].startswith("Under the scenario priors") and after["verdict"]
    assert after["probabilities"] == pytest.approx(doc["posterior"])
    assert 'id="decision-verdicts"' in page and "What changed:" in page
