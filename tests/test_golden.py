"""A whole round pinned: a small district, a fixed seed, and every key figure of the played day.

A change that moves any of them — sites, desks, tubes, boxes, finish time, coverage, walk-ins,
positives — fails here, so that it is seen and explained in the commit that makes it. After such a
change, and only once the new figures are understood, write them anew with

    SWEEP_GOLDEN_WRITE=1 python -m pytest tests/test_golden.py

and say in the commit why they moved.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

from sweep.demo.run import run_demo

GOLDEN = Path(__file__).with_name("golden") / "round-2000-seed5.json"
KEYS = ("people", "sampled", "walk_ins", "coverage", "sites", "desks", "tubes", "boxes", "results",
        "positives", "retests_open", "no_shows", "home_sampling", "staff_short", "finish_minutes",
        "deadline_minutes", "on_time")


def test_the_golden_round_plays_to_the_same_figures(tmp_path):
    summary = run_demo(url=f"sqlite:///{tmp_path / 'golden.db'}", people=2000, seed=5, day=date(2026, 12, 1))
    figures = {key: summary[key] for key in KEYS}
    if os.environ.get("SWEEP_GOLDEN_WRITE") == "1":
        GOLDEN.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    pinned = json.loads(GOLDEN.read_text(encoding="utf-8"))
    moved = {key: (pinned.get(key), figures[key]) for key in KEYS if pinned.get(key) != figures[key]}
    assert not moved, f"the golden round moved (pinned, now): {moved}; see this file's docstring"
