"""What the plan's API answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class PlanRead(BaseModel):
    """The summary of a stored plan: what ``sweep plan --json`` prints."""

    campaign: int
    round_no: int
    sites: int
    desks: int
    samplers: int
    people: int
    home_sampling: int
    mean_walk_m: float
    max_walk_m: float
    walk_p95_m: float = 0.0
    beyond_limit: int = 0
    mobile_sites: int = 0
    home_sampling_buildings: int = 0
    objective: float
    bound: float
    gap: float
    status: str
    method: str
    predicted_finish_minutes: float
    deadline_minutes: int
    unassigned_buildings: int
    beyond_walk_limit: int
    exceptions: list[dict[str, Any]]
    warnings: list[str]
    staff_short: dict[str, int]
    shortfalls: list[dict[str, Any]]
    diff: dict[str, Any]
    site_list: list[dict[str, Any]] = []
    walk: dict[str, float] = {}
