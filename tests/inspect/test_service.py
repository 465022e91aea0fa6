"""Inspections: SOP checklists answered item by item, findings with a deadline, their closing, open findings by site."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from sweep.auth.scope import OutOfScope, Scope
from sweep.auth.service import create_user
from sweep.errors import Conflict, InvalidInput
from sweep.inspect import service as inspect
from sweep.inspect.checklists import SITE
from sweep.inspect.models import Finding, Inspection
from tests.factories import planned_campaign, two_sites


@pytest.fixture
def round_with_templates(session, settings, start, district_loaded):
    campaign = planned_campaign(session, settings, start)
    # The schema's migration installs the SOP's templates; installing again adds nothing.
    assert inspect.install_templates(session=session) == 0
    return campaign, *two_sites(session, campaign)


def _answers(failed: dict[int, str] | None = None):  # type: ignore[no-untyped-def]
    failed = failed or {}
    return [inspect.CheckIn(no, no not in failed, failed.get(no)) for no in range(1, len(SITE.items) + 1)]


def test_the_templates_come_from_the_sop(session, round_with_templates):
    site_template = next(t for t in inspect.templates(session=session) if t.code == "site")
    assert len(site_template.items) == len(SITE.items)
    texts = " ".join(i.text for i in site_template.items)
    assert "2小时" in texts and "六大员" in texts and "十混一" in texts
    assert any(i.critical for i in site_template.items) and not all(i.critical for i in site_template.items)


def test_a_visit_opens_findings_that_close_when_rectified(session, round_with_templates, start):
    campaign, site, other = round_with_templates
    inspector = create_user(session=session, username="insp", display_name="督导一组", role="inspector")
    visit_at = start + timedelta(hours=1)
    # Item 1 (materials, not critical) and item 11 (pool size, critical) fail; one more finding seen.
    visit = inspect.record_inspection(
        session=session, campaign=campaign, plan_site_id=site.id, template_code="site", visited_at=visit_at,
        checks=_answers({1: "缺少采样管200支", 11: "3号台一管12人"}),
        findings=[inspect.FindingIn("医废袋未称重", "minor")], inspector=inspector,
    )
    assert visit.status == "open" and visit.rectify_by == visit_at + inspect.CRITICAL_WITHIN
    found = session.scalars(select(Finding).where(Finding.inspection_id == visit.id).order_by(Finding.id)).all()
    assert [f.severity for f in found] == ["major", "critical", "minor"]
    assert "缺少采样管200支" in found[0].description
    clean = inspect.record_inspection(session=session, campaign=campaign, plan_site_id=other.id, template_code="site",
                                      visited_at=visit_at, checks=_answers(), inspector=inspector)
    assert clean.status == "closed" and clean.rectify_by is None

    board = inspect.open_findings(session=session, scope=Scope.system(), campaign=campaign, now=visit_at + timedelta(hours=2))
    assert [(s.site_code, len(s.findings), s.overdue) for s in board] == [(site.code, 3, 3)]

    leader_elsewhere = create_user(session=session, username="leader2", display_name="点长", role="site_leader", plan_site_id=other.id)
    with pytest.raises(OutOfScope):
        inspect.rectify_finding(session=session, finding_id=found[0].id, at=visit_at, rectification="补齐", scope=Scope.of(leader_elsewhere))
    leader = create_user(session=session, username="leader1", display_name="点长", role="site_leader", plan_site_id=site.id)
    with pytest.raises(InvalidInput) as err:
        inspect.rectify_finding(session=session, finding_id=found[0].id, at=visit_at, rectification=" ", scope=Scope.of(leader))
    assert err.value.field == "rectification"
    for f in found[:2]:
        inspect.rectify_finding(session=session, finding_id=f.id, at=visit_at + timedelta(minutes=30), rectification="已整改", scope=Scope.of(leader))
    with pytest.raises(Conflict):
        inspect.rectify_finding(session=session, finding_id=found[0].id, at=visit_at, rectification="again", scope=Scope.of(leader))
    assert session.get(Inspection, visit.id).status == "open"
    board = inspect.open_findings(session=session, scope=Scope.system(), campaign=campaign, now=visit_at + timedelta(minutes=45))
    assert [(len(s.findings), s.overdue) for s in board] == [(1, 0)]
    inspect.rectify_finding(session=session, finding_id=found[2].id, at=visit_at + timedelta(hours=3), rectification="已称重登记", scope=Scope.of(inspector))
    closed = session.get(Inspection, visit.id)
    assert closed.status == "closed" and closed.rectified_at == visit_at + timedelta(hours=3)
    assert inspect.open_findings(session=session, scope=Scope.system(), campaign=campaign, now=visit_at) == []


def test_a_visit_must_answer_every_item_once(session, round_with_templates, start):
    campaign, site, _ = round_with_templates
    kwargs = dict(session=session, campaign=campaign, plan_site_id=site.id, template_code="site", visited_at=start)
    with pytest.raises(InvalidInput) as err:
        inspect.record_inspection(**kwargs, checks=_answers()[:-2])
    assert err.value.field == "checks" and "15, 16" in err.value.reason
    with pytest.raises(InvalidInput):
        inspect.record_inspection(**kwargs, checks=[*_answers(), inspect.CheckIn(1, True)])
    with pytest.raises(InvalidInput):
        inspect.record_inspection(**kwargs, checks=[*_answers(), inspect.CheckIn(99, True)])
    with pytest.raises(InvalidInput) as err:
        inspect.record_inspection(**kwargs, checks=_answers({2: "迟到"}), rectify_by=start - timedelta(hours=1))
    assert err.value.field == "rectify_by"
    with pytest.raises(InvalidInput) as err:
        inspect.record_inspection(**kwargs, checks=_answers(), findings=[inspect.FindingIn("x", "fatal")])
    assert err.value.field == "severity"
    assert session.scalar(select(Inspection.id).where(Inspection.campaign_id == campaign.id)) is None
