"""Coverage figures and the missing list agree with what was scanned, on both backends."""

from __future__ import annotations

from sqlalchemy import func, select

from sweep.auth.scope import Scope
from sweep.coverage import service as coverage
from sweep.field import tubes
from sweep.registry.models import Person
from tests.factories import people, planned_campaign, scan_person, two_sites, uid


def test_coverage_and_missing_list_follow_the_scans(session, settings, start, district_loaded):
    campaign = planned_campaign(session, settings, start)
    site, _ = two_sites(session, campaign)
    total = session.scalar(select(func.count()).select_from(Person))
    before = coverage.round_figures(session=session, campaign=campaign)
    assert before.sampled == 0 and before.people == total and before.finish_minutes is None

    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="COVT0001", at=start)
    ids = people(session, 7)
    for i, pid in enumerate(ids):
        scan_person(session=session, campaign=campaign, plan_site_id=site.id, tube_code="COVT0001",
                          person_id=pid, client_uuid=uid(), sampled_at=start.replace(minute=10 + i))
    fig = coverage.round_figures(session=session, campaign=campaign)
    assert fig.sampled == 7
    assert fig.coverage == 7 / total
    assert fig.finish_minutes == 16.0
    areas = coverage.coverage_by_community(session=session, scope=Scope.system(), campaign=campaign)
    assert sum(a.expected for a in areas) == total
    assert sum(a.sampled for a in areas) == 7
    missing = coverage.missing_list(session=session, scope=Scope.system(), campaign=campaign)
    assert len(missing) == total - 7
    assert not set(ids) & {m.person_id for m in missing}
    assert all(m.id_masked.count("*") == 8 for m in missing)
