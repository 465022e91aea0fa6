import datetime as dt
import re

import numpy as np
import pytest

from sweep.demo.district import BUILDING_KINDS, DESK_PEOPLE_PER_DAY, KEY_GROUP_CODES, generate_district
from sweep.registry.idnumber import validate_id_number

CJK = re.compile(r"^[\u4e00-\u9fff0-9]+$")


@pytest.fixture(scope="module")
def district():
    return generate_district(people=100_000, seed=7)


def _ages(d) -> np.ndarray:
    """Completed years on the district's reference date."""
    born = d.people.birth_days.astype("datetime64[D]")
    months = born.astype("datetime64[M]")
    year = months.astype(np.int64) // 12 + 1970
    month_day = (months.astype(np.int64) % 12 + 1) * 100 + (born - months).astype(np.int64) + 1
    ref = d.reference_date
    return ref.year - year - (month_day > ref.month * 100 + ref.day)


def test_same_seed_same_district_other_seed_differs():
    a = generate_district(people=20_000, seed=3)
    b = generate_district(people=20_000, seed=3)
    c = generate_district(people=20_000, seed=4)
    assert a.people.id_number == b.people.id_number
    assert a.people.name == b.people.name and a.people.phone == b.people.phone
    assert np.array_equal(a.people.building, b.people.building)
    assert np.array_equal(a.people.home_sampling, b.people.home_sampling)
    assert np.array_equal(a.buildings.lon, b.buildings.lon)
    assert a.grids == b.grids and a.candidate_sites == b.candidate_sites and a.communities == b.communities
    assert a.staff.name == b.staff.name
    assert a.people.id_number != c.people.id_number
    assert not np.array_equal(a.buildings.lon[:50], c.buildings.lon[:50])


@pytest.mark.parametrize("n", [10, 999, 12_345, 61_001])
def test_exact_people_count(n):
    d = generate_district(people=n, seed=1)
    p = d.people
    assert len(p) == n
    for arr in (p.name, p.id_number, p.birth_days, p.sex, p.phone, p.building, p.unit, p.room, p.home_sampling, p.key_group):
        assert len(arr) == n
    assert len(d.offices) == max(2, min(12, n // 60000 + 2))


def test_home_sampling_and_key_group_rates(district):
    p = district.people
    assert 0.0035 < p.home_sampling.mean() < 0.0065
    age = _ages(district)
    assert np.median(age[p.home_sampling]) > 65
    in_key = p.key_group > 0
    assert 0.01 < in_key.mean() < 0.02
    assert age[in_key].min() >= 18 and age[in_key].max() <= 59
    assert set(np.unique(p.key_group)) == {0, 1, 2, 3}
    assert not (in_key & p.home_sampling).any()
    assert [k.code for k in district.key_groups] == list(KEY_GROUP_CODES[1:])
    assert [k.test_every_days for k in district.key_groups] == [2, 1, 1]


def test_indices_and_codes_are_consistent(district):
    d = district
    b, p = d.buildings, d.people
    assert p.building.min() >= 0 and p.building.max() < len(b)
    assert np.all(np.bincount(p.building, minlength=len(b)) > 0)
    assert np.all(np.diff(p.building) >= 0)  # people listed building by building
    assert b.grid.min() >= 0 and b.grid.max() < len(d.grids)
    assert all(0 <= c.office < len(d.offices) for c in d.communities)
    assert all(0 <= g.community < len(d.communities) for g in d.grids)
    assert set(b.kind.tolist()) == set(BUILDING_KINDS)
    for i in range(0, len(b), 97):
        grid = d.grids[b.grid[i]]
        community = d.communities[grid.community]
        assert b.code[i].startswith(grid.code) and grid.code.startswith(community.code)
        assert community.code.startswith(d.offices[community.office].code)
    assert len(set(b.code)) == len(b)
    assert re.fullmatch(r"O\d\dC\d\dG\d\dB\d{4}", b.code[0])
    per_community = np.bincount([g.community for g in d.grids])
    assert per_community.min() >= 1 and per_community.max() <= 6


def test_buildings_inside_their_grid_polygon(district):
    b = district.buildings
    rings = np.array([g.polygon for g in district.grids])  # (G, 5, 2)
    assert np.allclose(rings[:, 0], rings[:, -1])
    lo, hi = rings.min(axis=1)[b.grid], rings.max(axis=1)[b.grid]
    assert np.all((b.lon > lo[:, 0]) & (b.lon < hi[:, 0]) & (b.lat > lo[:, 1]) & (b.lat < hi[:, 1]))
    assert b.lon.min() > 113.6 and b.lon.max() < 114.1 and b.lat.min() > 34.35 and b.lat.max() < 34.7


def test_building_kinds_sizes_and_ages(district):
    b, p = district.buildings, district.people
    size = np.bincount(p.building, minlength=len(b))
    age = _ages(district)
    kind = b.kind[p.building]
    assert np.median(size[b.kind == "dormitory"]) > 300 and size.max() <= 1200
    assert size[b.kind == "village"].max() <= 60
    assert age[kind == "dormitory"].min() == 18 and age[kind == "dormitory"].max() == 45
    assert age.min() == 0 and age.max() == 95
    assert np.median(age[kind == "village"]) > np.median(age[kind == "compound"]) + 5
    assert np.all((b.households >= 1) & (b.households <= size))
    assert 2 < size.sum() / b.households.sum() < 5


def test_phones_unique_and_mobile(district):
    phones = district.people.phone + district.staff.phone
    assert len(set(phones)) == len(phones)
    assert all(re.fullmatch(r"1(3\d|5[0-35-9]|8\d)\d{8}", x) for x in phones[::13])


def test_candidate_sites_per_community(district):
    d = district
    counts = np.bincount([s.community for s in d.candidate_sites], minlength=len(d.communities))
    assert counts.min() >= 2
    desks = sum(s.max_desks for s in d.candidate_sites)
    assert desks > 1.3 * len(d.people) / DESK_PEOPLE_PER_DAY
    assert len({s.code for s in d.candidate_sites}) == len(d.candidate_sites)
    limits = {"square": (6, 16), "car_park": (6, 16), "school": (4, 10), "community_centre": (2, 6), "factory_yard": (4, 12)}
    for s in d.candidate_sites:
        lo, hi = limits[s.kind]
        assert lo <= s.max_desks <= hi and s.area_m2 > 0


def test_id_numbers_valid_and_sexes_agree(district):
    p = district.people
    assert len(set(p.id_number)) == len(p)
    rng = np.random.default_rng(0)
    epoch = dt.date(1970, 1, 1)
    for i in rng.choice(len(p), 2000, replace=False).tolist():
        result = validate_id_number(p.id_number[i])
        assert result.warnings == ()
        assert result.sex == p.sex[i]
        assert result.birth_date == epoch + dt.timedelta(days=int(p.birth_days[i]))
    seventeenth = np.array([int(x[16]) for x in p.id_number])
    assert np.array_equal(seventeenth % 2 == 1, p.sex == "M")


def test_names_and_rooms_look_right(district):
    d = district
    assert all(CJK.match(x) for x in d.people.name[::101])
    assert all(2 <= len(x) <= 3 for x in d.people.name[::101])
    for rows in (d.offices, d.communities, d.grids, d.candidate_sites):
        assert all(CJK.match(r.name) for r in rows)
    assert all(CJK.match(x) for x in d.buildings.name)
    assert all(x.isdigit() for x in d.people.room[::101])
    assert d.people.unit.dtype == np.int16 and d.people.key_group.dtype == np.int8


def test_staff_pool(district):
    d, s = district, district.staff
    n = len(d.people)
    medical = s.role == "medical"
    assert medical.sum() >= n / 360 * 1.6 - 1 and (~medical).sum() >= n / 250 - 1
    for role in (medical, ~medical):
        assert np.bincount(s.community[role], minlength=len(d.communities)).min() >= 3


@pytest.mark.parametrize(("people", "seed"), [(20_000, 1), (20_000, 3), (50_000, 2)])
def test_nearly_every_building_has_a_candidate_site_within_the_walking_limit(people, seed):
    from sweep.demo.district import REACH_KM

    d = generate_district(people=people, seed=seed)
    lon = np.array([s.lon for s in d.candidate_sites])
    lat = np.array([s.lat for s in d.candidate_sites])
    km_lon = 111.320 * np.cos(np.radians(lat.mean()))
    dist = np.hypot((d.buildings.lon[:, None] - lon[None, :]) * km_lon, (d.buildings.lat[:, None] - lat[None, :]) * 110.574).min(axis=1)
    walk_m = dist * 1000 * 1.3
    residents = np.bincount(d.people.building, minlength=len(d.buildings))
    assert REACH_KM * 1.3 < 1.0
    # Out of reach: only hamlets of the thin villages, the exception mobile sites are for.
    assert residents[walk_m > 1000].sum() <= 0.05 * people
    assert (walk_m <= 1000).mean() >= 0.9
    kinds = {s.kind for s in d.candidate_sites}
    assert {"community_centre", "school", "square", "car_park"} <= kinds
    assert len({s.code for s in d.candidate_sites}) == len(d.candidate_sites)
