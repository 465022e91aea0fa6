"""Tubes through the field to the lab, through the same services the sites use."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sweep.field import service as field
from sweep.field import tubes
from sweep.lab import service as lab
from sweep.plan.models import Campaign
from tests.factories import courier, scan_person, uid


def sample_tube(session, campaign: Campaign, site_id: int, code: str, person_ids: Sequence[int], at: datetime,  # type: ignore[no-untyped-def]
                kind: str = "pooled", tube: str | None = None) -> None:
    """People into one tube, sealed; a retest's tube (or ``tube="single"``) holds one person."""
    tube = tube or ("single" if kind == "retest" else "pooled")
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site_id, code=code, at=at, kind=tube)
    sealed = False
    for i, pid in enumerate(person_ids):
        sealed = scan_person(session=session, campaign=campaign, plan_site_id=site_id, tube_code=code, person_id=pid,
                             client_uuid=uid(), sampled_at=at + timedelta(seconds=20 * i), kind=kind).sealed
    if not sealed:
        field.seal_tube(session=session, campaign=campaign, plan_site_id=site_id, tube_code=code, at=at + timedelta(minutes=5))


def ship(session, campaign: Campaign, site_id: int, box_code: str, tube_codes: Sequence[str], at: datetime) -> datetime:  # type: ignore[no-untyped-def]
    """Pack, hand over and receive at the lab; returns when the lab signed."""
    field.open_box(session=session, campaign=campaign, plan_site_id=site_id, code=box_code, at=at)
    for code in tube_codes:
        field.pack_tube(session=session, campaign=campaign, plan_site_id=site_id, box_code=box_code, tube_code=code)
    field.hand_over(session=session, campaign=campaign, plan_site_id=site_id, box_code=box_code, courier_staff_id=courier(session, campaign, site_id), at=at)
    received = at + timedelta(minutes=45)
    lab.receive_box(session=session, campaign=campaign, box_code=box_code, at=received)
    return received
