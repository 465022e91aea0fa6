"""A resident's own result: the ID number plus the last four digits of the phone on record.

Nothing else about anyone is shown. An unknown ID number and a wrong second factor get the same
answer, and guessing is capped per ID number and per address.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.auth.ratelimit import RateLimiter
from sweep.auth.service import audit
from sweep.errors import InvalidInput, NotFound
from sweep.field.models import Sample
from sweep.lab.models import LabResult, RetestOrder
from sweep.lab.service import mask_name
from sweep.plan.models import Campaign, PlanSite
from sweep.registry.idnumber import InvalidIdNumber, validate_id_number
from sweep.registry.models import CandidateSite, Person
from sweep.registry.service import id_lookup_hash

NO_MATCH = "查无结果：证件号码或手机号后四位不符 (no result: the ID number or the last four phone digits do not match)"
Standing = Literal["not_sampled", "pending", "negative", "retest", "positive", "no_round"]
MESSAGES = {
    "not_sampled": ("本轮尚无您的采样记录，请按通知时间到采样点采样", "no sample of yours in this round yet; please go to your site at your call-up time"),
    "pending": ("已采样，结果尚未出具，请耐心等待", "sampled; the result is not out yet"),
    "negative": ("阴性", "negative"),
    "retest": ("请留在家中，工作人员将联系您进行单人单管复核采样", "please stay at home: staff will contact you for an individual retest"),
    "positive": ("请留在家中，等待工作人员联系", "please stay at home and wait for staff to contact you"),
    "no_round": ("尚未开展检测", "no testing round yet"),
}


@dataclass(frozen=True)
class ResidentResult:
    name_masked: str
    id_masked: str
    campaign: str | None
    status: Standing
    sampled_at: datetime | None
    site: str | None
    retest_due_at: datetime | None
    message_zh: str
    message_en: str


def _status(session: Session, campaign: Campaign, person_id: int) -> tuple[Standing, datetime | None, str | None, datetime | None]:
    sample = session.execute(
        select(Sample.sampled_at, CandidateSite.name, LabResult.result)
        .join(PlanSite, PlanSite.id == Sample.plan_site_id)
        .join(CandidateSite, CandidateSite.id == PlanSite.candidate_site_id)
        .outerjoin(LabResult, LabResult.tube_id == Sample.tube_id)
        .where(Sample.campaign_id == campaign.id, Sample.person_id == person_id, Sample.kind != "retest")
    ).first()
    orders = session.execute(
        select(RetestOrder.status, RetestOrder.result, RetestOrder.due_at)
        .where(RetestOrder.campaign_id == campaign.id, RetestOrder.person_id == person_id)
        .order_by(RetestOrder.id)
    ).all()
    if sample is None and not orders:
        return "not_sampled", None, None, None
    sampled_at, site = (sample.sampled_at, sample.name) if sample else (None, None)
    open_orders = [o for o in orders if o.status != "closed"]
    if any(o.result == "positive" for o in orders):
        return "positive", sampled_at, site, None
    if open_orders:
        return "retest", sampled_at, site, open_orders[-1].due_at
    if orders:  # every retest closed, none positive
        return "negative", sampled_at, site, None
    assert sample is not None  # no sample and no orders returned above
    return ("pending" if sample.result is None else "negative"), sampled_at, site, None


def resident_result(
    *,
    session: Session,
    limiter: RateLimiter,
    id_number: str,
    phone_last4: str,
    address: str,
    key: str,
    now: float | None = None,
) -> ResidentResult:
    limiter.hit(f"resident-addr:{address}", field="id_number", now=now)
    digits = phone_last4.strip()
    if not re.fullmatch(r"\d{4}", digits):
        raise InvalidInput("phone_last4", "请输入预留手机号的后四位数字 (enter the last four digits of the phone on record)")
    try:
        number = validate_id_number(id_number).number
    except InvalidIdNumber as exc:
        raise InvalidInput("id_number", exc.reason) from exc
    digest = id_lookup_hash(number, key=key)
    limiter.hit(f"resident-id:{digest.hex()}", field="id_number", now=now)
    person = session.execute(
        select(Person.id, Person.name, Person.id_masked, Person.phone).where(Person.id_hash == digest)
    ).first()
    tail = (person.phone or "")[-4:] if person is not None else ""
    # Compared in constant time and answered alike: a wrong phone must not confirm the ID number exists.
    matches = hmac.compare_digest(tail.rjust(4, "#").encode(), digits.encode())
    if person is None or not matches:
        raise NotFound("id_number", NO_MATCH)
    campaign = session.scalar(select(Campaign).order_by(Campaign.id.desc()).limit(1))
    status: Standing
    if campaign is None:
        status, sampled_at, site, due = "no_round", None, None, None
    else:
        status, sampled_at, site, due = _status(session, campaign, person.id)
    audit(session=session, user_id=None, action="resident.lookup", entity="person", entity_id=person.id,
          campaign_id=campaign.id if campaign else None, detail={"from": address})
    zh, en = MESSAGES[status]
    return ResidentResult(
        mask_name(person.name), person.id_masked, campaign.name if campaign else None, status, sampled_at, site, due, zh, en
    )


__all__ = ["NO_MATCH", "ResidentResult", "resident_result"]
