"""Snapshot the figures the CLI prints, to prove a refactor leaves them byte-identical.

``python bench/output_snapshot.py save DIR`` runs, through the installed ``theses`` command, every registered
strategy's ``backtest --format json`` over the full history and since the essay, ``compare --since-essay
--format json``, ``simulate --seed 7 --format json`` and ``rebalance essay_book --format json``, and writes each
output to ``DIR/<name>.json``. ``python bench/output_snapshot.py check DIR`` runs the same commands and prints
which outputs differ from the saved ones (exit 1 if any). Needs the real price CSVs (``--data-dir`` or
``THESES_DATA_DIR``). Report paths inside the outputs are blanked (they name a temporary folder), and so is the
holdings path (it names the checkout), in the saved outputs too, so any checkout can check a snapshot.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ESSAY_DATE = "2024-12-02"
ROOT = Path(__file__).resolve().parents[1]


def _theses() -> str:
    """The ``theses`` console script beside the running interpreter (the project's venv)."""
    candidate = Path(sys.executable).with_name("theses")
    return str(candidate) if candidate.exists() else "theses"


def _strategy_names() -> list[str]:
    out = subprocess.run([_theses(), "list"], capture_output=True, text=True, check=True, env=_env()).stdout
    return re.findall(r"^│ ([a-z_]+)\s", out, flags=re.M) or re.findall(r"^\s*([a-z][a-z_]+)\s{2,}", out, flags=re.M)


def _env() -> dict[str, str]:
    env = dict(os.environ, COLUMNS="200")
    env.setdefault("THESES_CACHE_DIR", tempfile.mkdtemp(prefix="snapshot-cache-"))
    return env


def commands(data_dir: str, names: list[str]) -> dict[str, list[str]]:
    """Output name -> argv (without the program)."""
    base = ["--data-dir", data_dir, "--format", "json"]
    runs: dict[str, list[str]] = {}
    for name in names:
        runs[f"backtest-{name}-full"] = ["backtest", name, *base]
        runs[f"backtest-{name}-essay"] = ["backtest", name, "--start", ESSAY_DATE, *base]
    runs["compare-since-essay"] = ["compare", "--since-essay", *base, "--out", "{tmp}/compare"]
    runs["simulate-seed7"] = ["simulate", "--seed", "7", "--paths", "500", "--years", "3", "--format", "json"]
    runs["rebalance-essay_book"] = ["rebalance", "essay_book", "--holdings", str(ROOT / "examples" / "holdings.csv"),
                                    "--cash", "2500", *base]
    return runs


def _normalised(text: str) -> str:
    """The JSON text sorted and indented, with the paths that name a folder of this run blanked."""
    document = json.loads(text)
    if isinstance(document, dict):
        for key, blank in (("report", "<report path>"), ("holdings", "<holdings path>")):
            if key in document:
                document[key] = blank
    return json.dumps(document, indent=1, sort_keys=True)


def run_all(data_dir: str) -> dict[str, str]:
    names = _strategy_names()
    if len(names) < 5:
        raise SystemExit(f"could not read the strategy list (found {names})")
    outputs: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for key, argv in commands(data_dir, names).items():
            argv = [a.replace("{tmp}", tmp) for a in argv]
            done = subprocess.run([_theses(), *argv], capture_output=True, text=True, env=_env())
            if done.returncode != 0:
                raise SystemExit(f"{key}: exit {done.returncode}: {done.stderr.strip()}")
            outputs[key] = _normalised(done.stdout)
            print(f"ran {key}", flush=True)
    return outputs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("save", "check"))
    parser.add_argument("directory")
    parser.add_argument("--data-dir", default=os.environ.get("THESES_DATA_DIR", str(ROOT.parent / "shared/data/prices")))
    args = parser.parse_args()
    folder = Path(args.directory)
    outputs = run_all(args.data_dir)
    if args.action == "save":
        folder.mkdir(parents=True, exist_ok=True)
        for key, text in outputs.items():
            (folder / f"{key}.json").write_text(text + "\n", encoding="utf-8")
        print(f"saved {len(outputs)} outputs to {folder}")
        return 0
    differ = [key for key, text in outputs.items()
              if not (folder / f"{key}.json").is_file() or _normalised((folder / f"{key}.json").read_text()) != text]
    print(f"{len(outputs) - len(differ)} of {len(outputs)} outputs byte-identical")
    for key in differ:
        print(f"DIFFERS: {key}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
