"""An instrument's CSV: bad rows reported by row, field and reason; good rows stored; a re-run is safe."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sweep.errors import InvalidInput
from sweep.lab.models import LabResult, ResultImport, RetestOrder
from sweep.lab.results_import import import_results
from tests.factories import people, planned_campaign, two_sites
from tests.lab.helpers import sample_tube, ship

CSV = """管码,结果,ORF1ab,N基因,检测时间
IMP00001,阴性,,,2026-12-01 10:00
IMP00002,阳性,31.2,29.8,2026-12-01 10:00
IMP00003,maybe,,,
NOPE0001,negative,,,
IMP00004,negative,,,
IMP00001,negative,,,
IMP00003,invalid,abc,,
IMP00003,无效,,,2026-12-01 06:00

IMP00003,INV,,,2026/12/01 10:05
"""


@pytest.fixture
def tubes_at_lab(session, settings, start, district_loaded):
    campaign = planned_campaign(session, settings, start)
    site, _ = two_sites(session, campaign)
    ids = people(session, 40)
    for n in range(4):
        sample_tube(session, campaign, site.id, f"IMP{n + 1:05d}", ids[10 * n : 10 * n + 10], start)
    ship(session, campaign, site.id, "IMPB0001", ["IMP00001", "IMP00002", "IMP00003"], start + timedelta(hours=1))
    return campaign, ids


def _count(session, model, campaign):  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(model).where(model.campaign_id == campaign.id))


def test_bad_rows_are_reported_and_the_good_ones_stored(session, tubes_at_lab, start):
    campaign, ids = tubes_at_lab
    report = import_results(session=session, campaign=campaign, filename="run1.csv", data=CSV.encode(), at=start + timedelta(hours=4))
    assert report.total_rows == 9
    assert (report.imported, report.unchanged, report.rejected) == (3, 0, 6), report.errors
    assert [(e.row, e.field) for e in report.errors] == [
        (4, "result"), (5, "tube_code"), (6, "tube_code"), (7, "tube_code"), (8, "ct_orf1ab"), (9, "resulted_at"),
    ]
    assert "IMP00004" in report.errors[2].reason and "received" in report.errors[2].reason
    assert "row 2" in report.errors[3].reason
    assert report.positive_tubes == ["IMP00002"] and report.invalid_tubes == ["IMP00003"]
    assert report.retests_ordered == 20
    stored = {r.result for r in session.scalars(select(LabResult).where(LabResult.campaign_id == campaign.id))}
    assert stored == {"negative", "positive", "invalid"}
    positive = session.scalar(select(LabResult).where(LabResult.campaign_id == campaign.id, LabResult.result == "positive"))
    assert positive.ct_values == {"ORF1ab": 31.2, "N": 29.8} and positive.ct_value == 29.8
    assert positive.import_id == report.import_id
    ordered = set(session.scalars(select(RetestOrder.person_id).where(RetestOrder.campaign_id == campaign.id)))
    assert ordered == set(ids[10:30])
    kept = session.get(ResultImport, report.import_id)
    assert kept.rejected == 6 and len(kept.report["errors"]) == 6


def test_loading_the_same_file_again_changes_nothing(session, tubes_at_lab, start):
    campaign, _ = tubes_at_lab
    import_results(session=session, campaign=campaign, filename="run1.csv", data=CSV.encode(), at=start + timedelta(hours=4))
    again = import_results(session=session, campaign=campaign, filename="run1.csv", data=CSV.encode(), at=start + timedelta(hours=5))
    assert (again.imported, again.unchanged, again.rejected) == (0, 3, 6)
    assert _count(session, LabResult, campaign) == 3
    assert _count(session, RetestOrder, campaign) == 20


def test_a_different_result_for_a_tube_is_refused(session, tubes_at_lab, start):
    campaign, _ = tubes_at_lab
    import_results(session=session, campaign=campaign, filename="a.csv", data=b"tube_code,result\nIMP00001,negative\n", at=start + timedelta(hours=4))
    report = import_results(session=session, campaign=campaign, filename="b.csv", data=b"tube_code,result\nIMP00001,positive\n", at=start + timedelta(hours=4))
    assert report.imported == 0 and [(e.row, e.field) for e in report.errors] == [(2, "result")]
    assert session.scalar(select(LabResult.result).where(LabResult.campaign_id == campaign.id)) == "negative"


def test_strict_mode_stores_nothing_when_a_row_is_bad(session, tubes_at_lab, start):
    campaign, _ = tubes_at_lab
    data = "tube_code;result;ct\nIMP00001;negative;\nIMP00002;positive;99\n".encode("gb18030")
    with pytest.raises(InvalidInput) as err:
        import_results(session=session, campaign=campaign, filename="strict.csv", data=data, at=start + timedelta(hours=4), strict=True)
    assert err.value.field == "file"
    assert err.value.detail["errors"] == [{"row": 3, "field": "ct", "reason": err.value.detail["errors"][0]["reason"]}]
    assert _count(session, LabResult, campaign) == 0
    assert _count(session, ResultImport, campaign) == 0


def test_a_file_without_the_needed_columns_is_refused_whole(session, tubes_at_lab, start):
    campaign, _ = tubes_at_lab
    with pytest.raises(InvalidInput) as err:
        import_results(session=session, campaign=campaign, filename="x.csv", data="管码,Ct\nIMP00001,30\n".encode(), at=start)
    assert err.value.field == "columns" and "result" in err.value.reason
    with pytest.raises(InvalidInput) as err:
        import_results(session=session, campaign=campaign, filename="empty.csv", data=b"", at=start)
    assert err.value.field == "file"
    assert _count(session, LabResult, campaign) == 0
