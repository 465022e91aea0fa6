"""Settings, read once from the environment (prefix ``SWEEP_``) or a ``.env`` file.

Each figure from practice names its source; see docs/configuration.md for the list.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SWEEP_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = Field(
        default_factory=lambda: f"sqlite:///{Path.cwd() / 'sweep.db'}",
        description="SQLAlchemy URL; the default is an SQLite file in the working directory.",
    )
    read_database_url: str | None = Field(
        default=None,
        description="A copy for the read-only views (the dashboard), e.g. a streaming standby; none: the primary.",
    )
    secret_key: str = Field(
        default=DEV_SECRET,
        description="Keys the hash that ID numbers are looked up by; must be set in production.",
    )
    host: str = "127.0.0.1"
    port: int = 8000

    # The seed's "2+6": everything ready two hours early, all sampled within six hours.
    deadline_minutes: int = Field(default=360, gt=0, description="Sampling window (seed: 6 h).")
    ready_before_minutes: int = Field(default=120, ge=0, description="Materials in place before start (seed: 2 h).")
    # 10混1, the national pooled-sampling default (NHC, 2022 3rd-edition guideline).
    pool_size: int = Field(default=10, ge=1, le=20)
    # Zhengzhou practice: 50 tubes to a transport box.
    box_size: int = Field(default=50, ge=1)
    # One desk (a sampler and a registrar) swabs about 200 people an hour, ~20 s each (practice, 2022).
    desk_people_per_hour: int = Field(default=200, gt=0)
    # A site serves 2,000-3,000 people over the day (national guideline).
    people_per_site: int = Field(default=2500, gt=0)
    # A desk serves 600-800 people over the day (national guideline).
    people_per_desk: int = Field(default=700, gt=0)
    # Call-up slot length (通知有序).
    slot_minutes: int = Field(default=30, gt=0)
    # 15-minute walking circle (采样圈); about 1,000 m at a walking pace.
    max_walk_m: float = Field(default=1000.0, gt=0)
    # Buildings with no candidate site within the walking limit: a mobile site (a tent and a van,
    # up to this many desks) for a group, home sampling (上门采样) for a group smaller than the next.
    mobile_site_max_desks: int = Field(default=4, ge=1, description="Desks a mobile site holds at most.")
    home_sampling_max_people: int = Field(default=30, ge=0, description="A group out of reach smaller than this is sampled at home.")
    # The plan (sweep plan): queueing target, rotation, transport limit, spares, solver time.
    wait_target_minutes: float = Field(default=10.0, gt=0, description="Mean wait in line a site is sized for.")
    sampler_rotation_minutes: int = Field(default=120, gt=0, description="A sampler's longest stretch in gear (heat, 2022).")
    sample_wait_limit_minutes: int = Field(default=120, gt=0, description="Longest a sample waits before leaving for the lab.")
    # Tube to lab within 2-4 h, never over 4 h at room temperature: two hours waiting, two on the road.
    transit_limit_minutes: int = Field(default=120, gt=0, description="Longest a box may be on the road from the site to the lab.")
    spare_fraction: float = Field(default=0.10, ge=0, le=1, description="Spare swabs and tubes for breakage and re-swabs.")
    staff_ready_before_minutes: int = Field(default=60, ge=0, description="Staff in place before sampling opens.")
    plan_time_limit_seconds: float = Field(default=30.0, gt=0, description="Time the site placement may take.")
    # The simulation of the day (sweep simulate); sources and reasons in docs/configuration.md.
    sim_runs: int = Field(default=200, ge=1, le=100_000, description="Simulated days per Monte Carlo estimate.")
    sim_p_target: float = Field(default=0.95, gt=0, lt=1, description="P(done by the deadline) each site must reach.")
    sim_no_show: float = Field(default=0.012, ge=0, lt=1, description="Share of the called who never come.")
    sim_late_share: float = Field(default=0.3, ge=0, lt=1, description="Share who come after their slot opens plus a delay.")
    sim_late_mean_minutes: float = Field(default=8.0, ge=0, description="Mean delay of those late (exponential).")
    sim_late_max_minutes: float = Field(default=60.0, gt=0, description="Latest a late person still comes; calling stops this long before the deadline.")
    sim_early_share: float = Field(default=0.1, ge=0, lt=1, description="Share who come before their slot.")
    sim_early_mean_minutes: float = Field(default=10.0, ge=0, description="Mean lead of those early (exponential).")
    # About 4.2 km/h: the 15-minute walking circle of 1,000 m (national guideline).
    sim_walk_m_per_minute: float = Field(default=70.0, gt=0, description="Walking pace from a building to its site.")
    sim_walk_in_share: float = Field(default=0.02, ge=0, description="Walk-ins not on a site's list, per person called.")
    sim_swab_cv: float = Field(default=0.3, ge=0, description="Coefficient of variation of the swab time (gamma).")
    sim_tube_seal_seconds: float = Field(default=20.0, ge=0, description="Seal a full tube and scan a new one.")
    sim_changeover_minutes: float = Field(default=10.0, ge=0, description="Desk pause when one sampler relieves another.")
    sim_break_every_minutes: float = Field(default=60.0, gt=0, description="Time between a sampler's short breaks.")
    sim_break_minutes: float = Field(default=0.0, ge=0, description="Length of a short break (0: none).")
    sim_handover_minutes: float = Field(default=5.0, ge=0, description="From a full box to its hand-over to the courier.")
    sim_transit_minutes: float = Field(default=40.0, ge=0, description="Mean trip from a site to the lab.")
    sim_transit_cv: float = Field(default=0.3, ge=0, description="Coefficient of variation of the trip (gamma).")
    sim_lab_tubes_per_hour: float = Field(default=4000.0, gt=0, description="Tubes the round's labs take in per hour.")
    sim_lab_turnaround_minutes: float = Field(default=150.0, ge=0, description="From intake to a tube's result.")

    # Login guessing: failed log-ins, counted per account and address, and per address, in the window.
    login_attempts: int = Field(default=10, ge=1, description="Failed log-ins of one account from one address before 429.")
    login_address_attempts: int = Field(default=100, ge=1, description="Failed log-ins from one address, any account, before 429.")
    login_window_seconds: int = Field(default=300, gt=0)
    # A log-in lasts the round day: until this hour (24 = midnight) after it, and at least an hour.
    token_day_end_hour: int = Field(default=24, ge=1, le=24)
    # The token cache: how often each process reads the revocations, and the longest an entry lives.
    auth_poll_seconds: float = Field(default=2.0, gt=0, le=60)
    auth_cache_seconds: float = Field(default=300.0, gt=0)
    # A resident's own result: look-ups per ID number and per address in the window.
    resident_attempts: int = Field(default=5, ge=1)
    resident_window_seconds: int = Field(default=900, gt=0)
    # How long a server trusts what it read of a round and its sites (the scan path's checks) before
    # reading them again: the most a change of the plan waits on other servers.
    cache_seconds: float = Field(default=5.0, ge=0, le=300)

    # The largest body a request may carry, by kind: JSON and forms (a terminal's batch of 200 scans
    # is about 60 KiB), and file uploads (a district's registry as CSV or XLSX). Past it: 413.
    max_body_bytes: int = Field(default=1024 * 1024, ge=64 * 1024, description="Largest JSON or form body, in bytes.")
    max_upload_bytes: int = Field(default=64 * 1024 * 1024, ge=64 * 1024, description="Largest file upload (multipart), in bytes.")

    # The dashboard's map draws the district's own GeoJSON; a tile server is optional.
    map_tile_url: str | None = Field(default=None, description="e.g. https://tiles.example/{z}/{x}/{y}.png")
    dashboard_poll_seconds: int = Field(default=5, ge=1, le=300)

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEV_SECRET:
            raise ValueError("SWEEP_SECRET_KEY must be set to a secret value when SWEEP_ENVIRONMENT=production")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
