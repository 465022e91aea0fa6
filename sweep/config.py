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
    # A site serves 2,000-3,000 people over the day (national guideline); the naive plan aims at the middle.
    people_per_site: int = Field(default=2500, gt=0)
    # A desk serves 600-800 people over the day (national guideline).
    people_per_desk: int = Field(default=700, gt=0)
    # Call-up slot length (通知有序).
    slot_minutes: int = Field(default=30, gt=0)
    # 15-minute walking circle (采样圈); about 1,000 m at a walking pace.
    max_walk_m: float = Field(default=1000.0, gt=0)

    # Login guessing: at most this many attempts per account and per address in the window.
    login_attempts: int = Field(default=10, ge=1)
    login_window_seconds: int = Field(default=300, gt=0)

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "Settings":
        if self.environment == "production" and self.secret_key == DEV_SECRET:
            raise ValueError("SWEEP_SECRET_KEY must be set to a secret value when SWEEP_ENVIRONMENT=production")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
