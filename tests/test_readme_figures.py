"""Figures in the README are the output of the commands that make them, not copies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_readmes_reliability_table_is_what_the_report_prints_now():
    printed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "reliability_report.py")], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert printed in (ROOT / "README.md").read_text()
