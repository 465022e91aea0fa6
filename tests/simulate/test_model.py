"""The parts of the simulated day: desks' closures, arrivals, the tube-to-lab chain, the Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest

from sweep.errors import InvalidInput
from sweep.simulate.arrivals import draw_arrivals, truncated_exponential
from sweep.simulate.chain import follow_tubes
from sweep.simulate.model import DayInput, DayModel, SiteInput, sites_from_assignment
from sweep.simulate.montecarlo import planned_line, run_rows, simulate_day
from sweep.simulate.staffing import NEVER, desk_closures, site_closures

MODEL = DayModel()


def site(code: str = "S", desks: int = 2, people=(300, 300, 300), shifts=()) -> SiteInput:  # type: ignore[no-untyped-def]
    n = len(people)
    return SiteInput(
        code=code, desks=desks, slot_start=np.arange(n) * 30, slot_minutes=np.full(n, 30), people=np.array(people),
        sampler_shifts=shifts,
    )


def test_a_roster_of_two_hour_turns_closes_the_desk_at_each_changeover_only():
    closed = desk_closures([(0, 120), (120, 240), (240, 360)], MODEL, 360)
    assert closed == [(120, 130), (240, 250)]


def test_gaps_breaks_and_samplers_who_leave_early_close_the_desk():
    model = DayModel(break_every_minutes=50, break_minutes=5, changeover_minutes=10)
    # Nobody until 30, a gap from 100 to 150, and the last sampler leaves at 200, before the deadline.
    closed = desk_closures([(30, 100), (150, 200)], model, 360)
    assert closed == [(0, 30), (80, 85), (100, 150), (200, NEVER)]
    assert desk_closures([], model, 360) == [(0, NEVER)]


def test_a_desk_with_no_sampler_is_not_staffed():
    s = site(desks=3, shifts=((1, 0, 360), (2, 0, 360)))
    _a, _b, staffed = site_closures(s, MODEL, 360)
    assert staffed == 2
    # A plan that names no samplers at all gets every desk staffed in turns.
    assert site_closures(site(desks=3), MODEL, 360)[2] == 3


def test_arrivals_keep_to_the_model():
    model = DayModel(no_show=0.1, late_share=0.5, late_mean_minutes=20, late_max_minutes=1000, early_share=0.0, walk_in_share=0.05)
    sites = [site(people=(20_000,)), site(code="T", people=(5_000, 5_000))]
    row_site = np.array([0, 1, 0])
    a = draw_arrivals(sites, row_site, model=model, pool_size=10, rng=np.random.default_rng(3))
    called = np.array([20_000, 10_000, 20_000])
    assert np.all(np.abs(a.no_shows / called - 0.1) < 0.01)
    assert np.all(np.abs(a.walk_ins / called - 0.05) < 0.01)
    assert np.array_equal(a.counts, called - a.no_shows + a.walk_ins)
    times = np.split(a.time, np.cumsum(a.counts)[:-1])
    assert all(np.all(np.diff(t) >= 0) for t in times)
    # Nobody early; half are late by 20 min on average: the called average 15 + 10 min, walk-ins 15.
    assert times[0].min() >= 0
    assert times[0].mean() == pytest.approx((0.9 * 25 + 0.05 * 15) / 0.95, abs=0.3)
    assert times[1].max() < 60 + 400
    assert a.service.mean() * 60 == pytest.approx(model.swab_seconds(10), rel=0.01)


def test_lateness_is_cut_at_its_maximum():
    delay = truncated_exponential(20.0, 60.0, 200_000, np.random.default_rng(8))
    assert delay.min() >= 0 and delay.max() <= 60
    # The mean of an exponential conditioned on the cut: m - c e^(-c/m) / (1 - e^(-c/m)).
    assert delay.mean() == pytest.approx(20 - 60 * np.exp(-3) / (1 - np.exp(-3)), rel=0.01)


def test_every_person_is_in_one_tube_and_every_tube_in_one_box():
    day = DayInput(sites=(site(desks=3, people=(400, 350, 300)), site(code="T", desks=1, people=(123,))), box_size=7)
    rows = run_rows(day.sites, np.array([0, 1, 0, 1]), model=MODEL, deadline_minutes=360, pool_size=10, rng=np.random.default_rng(4))
    chain = follow_tubes(rows.served, rows.arrivals.counts, rows_per_run=2, pool_size=10, box_size=7, model=MODEL,
                         rng=np.random.default_rng(5))
    per_tube = np.bincount(chain.tube_of)
    assert per_tube.min() >= 1 and per_tube.max() <= 10
    assert len(per_tube) == int(np.sum(-(-rows.served.desk_count // 10)))
    # One desk's tube holds one desk's people, and it is sealed after its last swab.
    row = np.repeat(np.arange(4), rows.arrivals.counts)
    assert np.all(chain.row[chain.tube_of] == row)
    assert np.all(chain.sealed[chain.tube_of] >= rows.served.finish)
    assert np.all(chain.at_lab >= chain.sealed)
    assert np.all(chain.result >= chain.at_lab + MODEL.lab_turnaround_minutes)
    # A box of 7 tubes: every row sends at least ceil(tubes / 7) boxes, and a tube waits at most one courier interval.
    tubes_per_row = np.bincount(chain.row, minlength=4)
    assert np.all(chain.boxes >= -(-tubes_per_row // 7))


def test_the_lab_takes_tubes_no_faster_than_its_rate():
    slow = DayModel(lab_tubes_per_hour=60.0, lab_turnaround_minutes=0.0)
    rows = run_rows([site()], np.zeros(1, dtype=np.int64), model=slow, deadline_minutes=360, pool_size=10, rng=np.random.default_rng(6))
    chain = follow_tubes(rows.served, rows.arrivals.counts, rows_per_run=1, pool_size=10, box_size=50, model=slow,
                         rng=np.random.default_rng(7))
    done = np.sort(chain.result)
    assert np.all(np.diff(done) >= 1.0 - 1e-9)
    assert done[-1] >= chain.at_lab.min() + len(done)


def test_the_same_seed_gives_the_same_day_and_another_seed_another():
    day = DayInput(sites=(site(), site(code="T", desks=1, people=(200, 100))))
    a = simulate_day(day, model=MODEL, runs=20, rng=np.random.default_rng(1))
    b = simulate_day(day, model=MODEL, runs=20, rng=np.random.default_rng(1))
    c = simulate_day(day, model=MODEL, runs=20, rng=np.random.default_rng(2))
    assert np.array_equal(a.finish_by_run, b.finish_by_run)
    assert not np.array_equal(a.finish_by_run, c.finish_by_run)


def test_chunks_of_runs_add_up_to_the_same_answer():
    day = DayInput(sites=(site(), site(code="T", desks=1, people=(200, 100))))
    whole = simulate_day(day, model=MODEL, runs=12, rng=np.random.default_rng(9))
    pieces = simulate_day(day, model=MODEL, runs=12, rng=np.random.default_rng(9), chunk_people=2_000)
    # Chunks draw the same kind of day in another order; the figures must agree in kind, not bit for bit.
    assert pieces.runs == whole.runs == len(pieces.finish_by_run)
    assert pieces.people == pytest.approx(whole.people, rel=0.02)
    assert pieces.finish.mean == pytest.approx(whole.finish.mean, rel=0.05)


def test_an_overloaded_site_is_late_and_named_first():
    # 1,800 people on one desk cannot be swabbed in six hours: a desk does 200 an hour, 1,200 a day.
    day = DayInput(sites=(site(code="OK", desks=3, people=(300, 300)), site(code="LATE", desks=1, people=(600, 600, 600))))
    out = simulate_day(day, model=MODEL, runs=30, rng=np.random.default_rng(3))
    assert out.p_on_time == 0.0 == np.mean(out.finish_by_run <= 360)
    assert [s.code for s in out.late_sites] == ["LATE"]
    late = out.sites[1]
    assert late.p_late == 1.0 and late.finish.p5 > 360
    assert late.queue_peak > 100 and late.wait_mean > out.sites[0].wait_mean
    # The plan's line reaches everyone called; the simulated line everyone who came.
    assert late.planned[-1] == pytest.approx(1800)
    assert late.people == pytest.approx(1800 * (1 - MODEL.no_show + MODEL.walk_in_share), rel=0.02)
    assert out.sample_to_result.mean > out.sample_to_lab.mean > 0


def test_planned_line_spreads_each_slot_evenly():
    s = site(people=(60, 30))
    line = planned_line(s, np.array([0.0, 15.0, 30.0, 45.0, 60.0, 90.0]))
    assert line.tolist() == [0.0, 30.0, 60.0, 75.0, 90.0, 90.0]


def test_sites_from_a_planners_arrays():
    sites = sites_from_assignment(
        codes=["A", "B"], desks=np.array([2, 3]), building_site=np.array([1, 0, 1]), slot_start=np.array([0, 30, 60]),
        slot_minutes=np.array([30, 30, 30]), people=np.array([10, 20, 30]), max_desks=np.array([4, 6]),
    )
    assert [s.code for s in sites] == ["A", "B"]
    assert sites[0].called == 20 and sites[1].called == 40
    assert sites[1].slot_start.tolist() == [0, 60] and sites[1].max_desks == 6


def test_bad_assumptions_name_the_field():
    with pytest.raises(InvalidInput) as exc:
        DayModel(no_show=1.2)
    assert exc.value.field == "no_show"
    with pytest.raises(InvalidInput) as exc:
        DayModel(late_share=0.7, early_share=0.5)
    assert exc.value.field == "late_share"
    with pytest.raises(InvalidInput) as exc:
        DayModel(person_seconds=1.0).swab_seconds(10)
    assert exc.value.field == "tube_seal_seconds"
    with pytest.raises(InvalidInput) as exc:
        site(desks=0)
    assert exc.value.field == "desks"
    with pytest.raises(InvalidInput) as exc:
        simulate_day(DayInput(sites=(site(),)), model=MODEL, runs=0, rng=np.random.default_rng(1))
    assert exc.value.field == "runs"


def test_a_long_walk_shows_in_p_on_time():
    """People set off in their slot and arrive after the walk: the last slot's long walk misses the deadline."""
    people = np.array([200, 200])
    near = SiteInput(code="N", desks=2, slot_start=np.array([0, 270]), slot_minutes=np.array([30, 30]), people=people,
                     walk_m=np.array([300.0, 300.0]))
    far = SiteInput(code="F", desks=2, slot_start=np.array([0, 270]), slot_minutes=np.array([30, 30]), people=people,
                    walk_m=np.array([300.0, 7_400.0]))
    model = DayModel(late_share=0.0, early_share=0.0, no_show=0.0, walk_in_share=0.0)
    days = {s.code: simulate_day(DayInput(sites=(s,), deadline_minutes=360), model=model, runs=40,
                                 rng=np.random.default_rng(5)) for s in (near, far)}
    # 7.4 km at 70 m a minute is 106 minutes: the last slot's people arrive after 376 minutes.
    assert days["N"].p_on_time == 1.0 and days["F"].p_on_time == 0.0
    arrivals = draw_arrivals([far], np.array([0]), model=model, pool_size=10, rng=np.random.default_rng(1))
    assert arrivals.time.min() >= 300 / 70 and arrivals.time.max() >= 270 + 7_400 / 70
    with pytest.raises(InvalidInput) as err:
        SiteInput(code="X", desks=1, slot_start=np.array([0]), slot_minutes=np.array([30]), people=np.array([5]),
                  walk_m=np.array([-1.0]))
    assert err.value.field == "walk_m"
