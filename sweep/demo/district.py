"""A deterministic synthetic district shaped like the Zhengzhou airport zone.

Three kinds of housing drive everything a planner has to cope with: worker
dormitories next to the industrial parks (huge buildings of young adults),
residential compounds (high-rises, a general population) and villages (small
scattered house groups, older people, thin on open space).  The same seed
always gives the same district, so a demo and a bug report can be replayed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

from sweep.demo.names import OFFICE_NAMES, REGION_P, StemPool, mobile_numbers, person_names
from sweep.registry.idnumber import HENAN_REGION_CODES, make_id_numbers

CENTRE_LON, CENTRE_LAT = 113.84, 34.52
EXTENT_KM = 20.0
# Ages are drawn relative to a fixed date, not today, so a seed never drifts.
REFERENCE_DATE = date(2022, 9, 1)
DESK_PEOPLE_PER_DAY = 700
_KM_PER_DEG_LAT = 110.574
_KM_PER_DEG_LON = 111.320 * math.cos(math.radians(CENTRE_LAT))

BUILDING_KINDS = ("dormitory", "compound", "village")
DORM, COMPOUND, VILLAGE = 0, 1, 2
KEY_GROUP_CODES = ("", "airport", "cold_chain", "quarantine_hotel")  # by PeopleArrays.key_group
_CHARACTERS = ("industrial", "urban", "rural")
# community character -> share of its people in (dormitory, compound, village)
_MIX = {"industrial": (0.72, 0.23, 0.05), "urban": (0.04, 0.91, 0.05), "rural": (0.0, 0.25, 0.75)}
_SIZE_FACTOR = {"industrial": 1.5, "urban": 1.0, "rural": 0.65}
# office character -> P(community character), same order as _CHARACTERS
_OFFICE_MIX = {"industrial": (0.5, 0.3, 0.2), "urban": (0.1, 0.7, 0.2), "rural": (0.1, 0.25, 0.65)}
# kind -> people range, size beta(a, b), people per household, cluster sigma km, buildings per cluster
_BUILDING = {
    DORM: (300, 1200, (1.0, 1.0), 7.0, 0.15, 12),
    COMPOUND: (60, 400, (1.6, 2.6), 2.7, 0.08, 15),
    VILLAGE: (10, 60, (2.0, 2.5), 3.3, 0.12, 15),
}
_AGE_BANDS = {  # (lowest age, highest age, share)
    DORM: ((18, 22, 0.30), (23, 29, 0.40), (30, 39, 0.22), (40, 45, 0.08)),
    COMPOUND: ((0, 6, .08), (7, 17, .12), (18, 29, .17), (30, 44, .24), (45, 59, .20), (60, 74, .14), (75, 95, .05)),
    VILLAGE: ((0, 6, .08), (7, 17, .14), (18, 29, .08), (30, 44, .13), (45, 59, .22), (60, 74, .24), (75, 95, .11)),
}
_MALE_P = (0.56, 0.50, 0.49)
# kind -> (area range m2, m2 of space per desk incl. queue, allowed desks)
_SITE: dict[str, tuple[tuple[float, float], int, tuple[int, int]]] = {
    "square": ((1800, 6500), 380, (6, 16)),
    "car_park": ((1800, 6000), 360, (6, 16)),
    "school": ((1600, 4500), 420, (4, 10)),
    "community_centre": ((400, 1600), 260, (2, 6)),
    "factory_yard": ((1500, 5000), 380, (4, 12)),
}
# A candidate site within this crow-fly distance of a building is within the 1,000 m walking
# limit (walking is about 1.3 times the straight line), with a margin for the site's own spread.
REACH_KM = 0.7
# In the thin villages, groups of housing smaller than this have no candidate site of their own.
THIN_HAMLET_PEOPLE = 400.0
# character -> (first sites in order, then a repeating tail)
_SITE_ORDER = {
    "industrial": (("factory_yard", "car_park", "community_centre"), ("square", "factory_yard", "car_park", "school")),
    "urban": (("community_centre", "square", "school"), ("car_park", "square", "school")),
    "rural": (("community_centre", "school"), ("square", "school", "car_park")),
}


@dataclass(frozen=True)
class OfficeRow:
    code: str
    name: str
    lon: float
    lat: float


@dataclass(frozen=True)
class CommunityRow:
    code: str
    name: str
    office: int  # index into District.offices
    character: str  # 'industrial' | 'urban' | 'rural'
    lon: float
    lat: float


@dataclass(frozen=True)
class GridRow:
    code: str
    name: str
    community: int  # index into District.communities
    polygon: list[tuple[float, float]]  # closed ring of (lon, lat)


@dataclass(frozen=True)
class CandidateSiteRow:
    code: str
    name: str
    kind: str
    community: int
    lon: float
    lat: float
    max_desks: int
    area_m2: float


@dataclass(frozen=True)
class KeyGroupRow:
    code: str
    name_zh: str
    test_every_days: int


KEY_GROUPS = (
    KeyGroupRow("airport", "机场工作人员", 2),
    KeyGroupRow("cold_chain", "冷链从业人员", 1),
    KeyGroupRow("quarantine_hotel", "隔离酒店工作人员", 1),
)


@dataclass(eq=False)
class BuildingArrays:
    code: list[str]
    name: list[str]
    grid: np.ndarray  # int32 index into District.grids
    kind: np.ndarray  # str: BUILDING_KINDS
    lon: np.ndarray
    lat: np.ndarray
    households: np.ndarray  # int32

    def __len__(self) -> int:
        return len(self.code)


@dataclass(eq=False)
class PeopleArrays:
    name: list[str]
    id_number: list[str]
    birth_days: np.ndarray  # int32 days since 1970-01-01
    sex: np.ndarray  # 'M' | 'F', agrees with the ID number
    phone: list[str]
    building: np.ndarray  # int32 index into District.buildings
    unit: np.ndarray  # int16; 0 = a village house, which has no 单元
    room: list[str]
    home_sampling: np.ndarray  # bool
    key_group: np.ndarray  # int8 index into KEY_GROUP_CODES

    def __len__(self) -> int:
        return len(self.name)


@dataclass(eq=False)
class StaffArrays:
    name: list[str]
    phone: list[str]
    role: np.ndarray  # 'medical' | 'general'
    community: np.ndarray  # int32 home community

    def __len__(self) -> int:
        return len(self.name)


@dataclass(eq=False)
class District:
    seed: int
    offices: list[OfficeRow]
    communities: list[CommunityRow]
    grids: list[GridRow]
    buildings: BuildingArrays
    people: PeopleArrays
    candidate_sites: list[CandidateSiteRow]
    staff: StaffArrays
    key_groups: list[KeyGroupRow]
    reference_date: date = REFERENCE_DATE


def _allocate(total: int, weights: np.ndarray | tuple[float, ...]) -> np.ndarray:
    """Non-negative integers in proportion to weights, summing exactly to total."""
    w = np.asarray(weights, dtype=np.float64)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    exact = w / w.sum() * total
    out = np.floor(exact).astype(np.int64)
    short = int(total - out.sum())
    out[np.argsort(out - exact, kind="stable")[:short]] += 1
    return out


def _lonlat(x: np.ndarray | float, y: np.ndarray | float) -> tuple:
    return CENTRE_LON + np.asarray(x) / _KM_PER_DEG_LON, CENTRE_LAT + np.asarray(y) / _KM_PER_DEG_LAT


def _split(idx: np.ndarray, xy: np.ndarray, w: np.ndarray, g: int) -> list[np.ndarray]:
    """k-d bisection into g population-balanced groups, so grid boxes barely overlap."""
    if g == 1:
        return [idx]
    spread = np.ptp(xy[idx], axis=0)
    order = idx[np.argsort(xy[idx, int(spread[1] > spread[0])], kind="stable")]
    g1 = g // 2
    cum = np.cumsum(w[order])
    cut = int(np.searchsorted(cum, cum[-1] * g1 / g)) + 1
    cut = min(max(cut, g1), len(order) - (g - g1))
    return _split(order[:cut], xy, w, g1) + _split(order[cut:], xy, w, g - g1)


def _communities(rng: np.random.Generator, people: int, pool: StemPool):
    n_off = max(2, min(12, people // 60000 + 2))
    n_comm = max(n_off, round(people / 9000))
    per_office = _allocate(n_comm, np.ones(n_off))
    cols = math.ceil(math.sqrt(n_off))
    rows = math.ceil(n_off / cols)
    tw, th = EXTENT_KM / cols, EXTENT_KM / rows
    shift = int(rng.integers(0, 3))
    offices, comm_office, comm_char, centres, radii = [], [], [], [], []
    for k in range(n_off):
        x0, y0 = -EXTENT_KM / 2 + (k % cols) * tw, EXTENT_KM / 2 - (k // cols + 1) * th
        lon, lat = _lonlat(x0 + tw / 2, y0 + th / 2)
        offices.append(OfficeRow(f"O{k + 1:02d}", OFFICE_NAMES[k % len(OFFICE_NAMES)], float(lon), float(lat)))
        c = int(per_office[k])
        cc = math.ceil(math.sqrt(c))
        rr = math.ceil(c / cc)
        cw, ch = tw / cc, th / rr
        p = _OFFICE_MIX[_CHARACTERS[(k + shift) % 3]]
        for cell in rng.permutation(cc * rr)[:c]:
            jitter = rng.uniform(-0.2, 0.2, 2)
            centres.append((x0 + (cell % cc + 0.5 + jitter[0]) * cw, y0 + (cell // cc + 0.5 + jitter[1]) * ch))
            radii.append(min(0.22 * min(cw, ch), 0.7))
            comm_office.append(k)
            comm_char.append(_CHARACTERS[rng.choice(3, p=p)])
    # Every district shows all three kinds of place, however small.
    for want in _CHARACTERS if n_comm >= 3 else ():
        if want not in comm_char:
            most = max(_CHARACTERS, key=comm_char.count)
            comm_char[int(rng.choice([i for i, c in enumerate(comm_char) if c == most]))] = want
    size = rng.lognormal(0.0, 0.35, n_comm) * np.array([_SIZE_FACTOR[c] for c in comm_char])
    pops = 1 + _allocate(people - n_comm, size)
    numbering = [sum(1 for o in comm_office[:i] if o == comm_office[i]) + 1 for i in range(n_comm)]
    communities = []
    for i in range(n_comm):
        lon, lat = _lonlat(*centres[i])
        code = f"{offices[comm_office[i]].code}C{numbering[i]:02d}"
        communities.append(CommunityRow(code, pool.community(), comm_office[i], comm_char[i], float(lon), float(lat)))
    return offices, communities, pops, np.array(centres), np.array(radii)


def _sizes(rng: np.random.Generator, target: int, lo: int, hi: int, a: float, b: float) -> tuple[int, np.ndarray]:
    """Building populations inside [lo, hi] summing exactly to target (one small one if target < lo)."""
    if target <= lo:
        return 1, np.array([target])
    mean = lo + a / (a + b) * (hi - lo)
    n_b = int(np.clip(round(target / mean), math.ceil(target / hi), target // lo))
    sizes = np.clip(_allocate(target, lo + rng.beta(a, b, n_b) * (hi - lo)), lo, hi)
    # Clipping moved the total; hand the difference to buildings with room to spare.
    diff = int(target - sizes.sum())
    if diff > 0:
        sizes += _allocate(diff, hi - sizes)
    elif diff < 0:
        sizes -= _allocate(-diff, sizes - lo)
    return n_b, sizes


def _buildings(rng: np.random.Generator, pool: StemPool, pop: int, character: str, centre: np.ndarray,
               radius: float) -> tuple[list[int], list[float], list[float], list[int], list[str], str | None]:
    """Buildings of one community: (kind, x, y, people, name) lists and its first park's name."""
    kinds: list[int] = []
    xs: list[float] = []
    ys: list[float] = []
    sizes: list[int] = []
    names: list[str] = []
    park: str | None = None
    for kind, target in enumerate(_allocate(pop, _MIX[character]).tolist()):
        if target == 0:
            continue
        lo, hi, (a, b), _per_hh, sigma, per_cluster = _BUILDING[kind]
        n_b, sz = _sizes(rng, target, lo, hi, a, b)
        sizes.extend(sz.tolist())
        n_cl = max(1, round(n_b / per_cluster))
        cluster = np.arange(n_b) * n_cl // n_b
        if kind == DORM:  # parks sit off to one side of the housing
            angle = rng.uniform(0, 2 * np.pi)
            park_at = centre + 0.7 * radius * np.array([np.cos(angle), np.sin(angle)])
            cl_xy = park_at + rng.normal(0, 0.3 * radius, (n_cl, 2))
            cl_name = [pool.park() for _ in range(n_cl)]
            park = park or cl_name[0]
        else:  # villages scatter wider than estates
            cl_xy = centre + rng.normal(0, (0.5 if kind == COMPOUND else 1.0) * radius, (n_cl, 2))
            cl_name = [pool.estate() if kind == COMPOUND else pool.village() for _ in range(n_cl)]
        xy = cl_xy[cluster] + rng.normal(0, sigma, (n_b, 2))
        first = np.searchsorted(cluster, cluster)  # index of each cluster's first building
        fmt = ("{}宿舍{}栋", "{}{}号楼", "{}{}组")[kind]
        names.extend(fmt.format(cl_name[c], j - f + 1) for j, (c, f) in enumerate(zip(cluster, first, strict=False)))
        kinds.extend([kind] * n_b)
        xs.extend(xy[:, 0].tolist())
        ys.extend(xy[:, 1].tolist())
    return kinds, xs, ys, sizes, names, park


def _sites(rng: np.random.Generator, pool: StemPool, comm: CommunityRow, ci: int, pop: int, b_xy: np.ndarray, b_w: np.ndarray,
           b_dorm: np.ndarray, centre: np.ndarray, park: str | None, thin: bool) -> list[CandidateSiteRow]:
    head, tail = _SITE_ORDER[comm.character]
    need = pop / DESK_PEOPLE_PER_DAY
    rows: list[CandidateSiteRow] = []
    desks = 0
    while True:
        if thin and len(rows) == 2:
            break
        if not thin and len(rows) >= max(2, min(10, 2 + pop // 8000)) and (desks >= 1.6 * need or len(rows) >= 16):
            break
        n = len(rows)
        kind = ("community_centre", "school")[n] if thin else (head[n] if n < len(head) else tail[(n - len(head)) % len(tail)])
        (a_lo, a_hi), per_desk, (d_lo, d_hi) = _SITE[kind]
        if thin:  # a village with only a small yard and a small school: planners must borrow capacity
            a_hi = a_lo + 0.15 * (a_hi - a_lo)
        area = round(float(rng.uniform(a_lo, a_hi)), -1)
        max_desks = int(np.clip(area // per_desk, d_lo, d_hi))
        if kind == "community_centre":
            xy = centre + rng.normal(0, 0.03, 2)
        else:  # near where people live; yards next to the dormitories
            w = b_w * b_dorm if kind == "factory_yard" and b_dorm.any() else b_w
            xy = b_xy[rng.choice(len(w), p=w / w.sum())] + rng.normal(0, 0.12, 2)
        lon, lat = _lonlat(*xy)
        nth = 1 + sum(r.kind == kind for r in rows)
        name = pool.site(kind, community_name=comm.name, park=park, nth=nth)
        rows.append(CandidateSiteRow(f"{comm.code}S{n + 1:02d}", name, kind, ci, float(lon), float(lat), max_desks, area))
        desks += max_desks
    return rows


def _cover(rng, pool, comm: CommunityRow, ci: int, b_xy: np.ndarray, b_w: np.ndarray, sites: list[CandidateSiteRow],
           first: int, least: float) -> list[CandidateSiteRow]:
    """More candidate sites until every group of housing of at least ``least`` people has one within
    reach, as a real community has a school, a square or a car park near each: placed at the
    weighted centre of the largest group out of reach, bigger where more people live."""
    rows: list[CandidateSiteRow] = []
    lon0, lat0 = _lonlat(0.0, 0.0)
    at = np.array([((r.lon - lon0) * _KM_PER_DEG_LON, (r.lat - lat0) * _KM_PER_DEG_LAT) for r in sites]).reshape(-1, 2)
    room = np.array([r.max_desks * DESK_PEOPLE_PER_DAY for r in sites], dtype=np.float64)
    near_b = np.hypot(b_xy[:, None, 0] - b_xy[None, :, 0], b_xy[:, None, 1] - b_xy[None, :, 1]) <= 0.5 * REACH_KM
    crowd = near_b @ b_w  # people around each building
    for _ in range(60):
        d = np.hypot(b_xy[:, None, 0] - at[None, :, 0], b_xy[:, None, 1] - at[None, :, 1]) if len(at) else np.full((len(b_w), 1), np.inf)
        # Out of reach, or the sites in reach have less room than the people around want.
        out = np.flatnonzero((d.min(axis=1) > REACH_KM) | ((d <= REACH_KM) @ room < 1.25 * crowd))
        if len(out) == 0:
            return rows
        near = near_b[np.ix_(out, out)]
        best = int(np.argmax(near @ b_w[out]))
        group = out[near[best]]
        people = float(b_w[group].sum())
        if people < least:
            return rows
        kind = ("square", "car_park")[len(rows) % 2] if people >= 2500 else "school" if people >= 800 else "square"
        (a_lo, a_hi), per_desk, (d_lo, d_hi) = _SITE[kind]
        top = a_lo + 0.2 * (a_hi - a_lo) if people < 800 else a_hi  # a village square is small
        area = round(float(rng.uniform(a_lo, top)), -1)
        xy = np.average(b_xy[group], axis=0, weights=b_w[group]) + rng.normal(0, 0.03, 2)
        lon, lat = _lonlat(*xy)
        nth = 1 + sum(r.kind == kind for r in sites + rows)
        name = pool.site(kind, community_name=comm.name, park=None, nth=nth)
        n = first + len(rows)
        rows.append(CandidateSiteRow(f"{comm.code}S{n + 1:02d}", name, kind, ci, float(lon), float(lat),
                                     int(np.clip(area // per_desk, d_lo, d_hi)), area))
        at = np.vstack([at, xy])
        room = np.append(room, rows[-1].max_desks * DESK_PEOPLE_PER_DAY)
    return rows


def _ages(rng: np.random.Generator, kind: np.ndarray) -> np.ndarray:
    age = np.empty(len(kind), dtype=np.int64)
    for k, bands in _AGE_BANDS.items():
        idx = np.flatnonzero(kind == k)
        lo, hi, share = (np.array(col) for col in zip(*bands, strict=False))
        band = rng.choice(len(bands), size=idx.size, p=share / share.sum())
        age[idx] = lo[band] + (rng.random(idx.size) * (hi[band] - lo[band] + 1)).astype(np.int64)
    return age


def _years_before(years: np.ndarray) -> np.ndarray:
    """Day numbers of REFERENCE_DATE minus whole years (its day of month is <= 28)."""
    month = np.datetime64(REFERENCE_DATE, "M") - (12 * years).astype("timedelta64[M]")
    return month.astype("datetime64[D]").astype(np.int64) + REFERENCE_DATE.day - 1


def _by_weight(rng: np.random.Generator, weights: np.ndarray, rate: float) -> np.ndarray:
    """Bernoulli draws whose expected total is rate * len(weights), shaped by weights."""
    p = np.minimum(rate * len(weights) * weights / max(weights.sum(), 1e-12), 0.9)
    return rng.random(len(weights)) < p


def _people(rng: np.random.Generator, b_kind: np.ndarray, b_size: np.ndarray, households: np.ndarray,
            phones: list[str]) -> PeopleArrays:
    """Residents laid out building by building, each household on its own room."""
    n = int(b_size.sum())
    building = np.repeat(np.arange(len(b_size), dtype=np.int32), b_size)
    kind = b_kind[building]
    rank = np.arange(n) - np.repeat(np.cumsum(b_size) - b_size, b_size)
    hh = rank * households[building] // b_size[building]
    # High-rises: up to 4 单元 with 2 flats a floor; dormitories: 20 rooms a floor; villages: house numbers.
    units = np.where(b_kind == COMPOUND, np.clip(np.ceil(households / 36), 1, 4), 1).astype(np.int64)[building]
    unit = np.where(kind == COMPOUND, (hh // 2) % units + 1, np.where(kind == DORM, 1, 0)).astype(np.int16)
    room = np.where(kind == COMPOUND, (hh // (2 * units) + 1) * 100 + hh % 2 + 1,
                    np.where(kind == DORM, (hh // 20 + 1) * 100 + hh % 20 + 1, hh + 1))
    male = rng.random(n) < np.array(_MALE_P)[kind]
    age = _ages(rng, kind)
    # Calendar-exact: someone aged 18 turned 18 on or before the reference date.
    latest, earliest = _years_before(age), _years_before(age + 1) + 1
    birth_days = (earliest + np.floor(rng.random(n) * (latest - earliest + 1))).astype(np.int32)
    region = np.empty(n, dtype=np.int64)
    for k in (DORM, COMPOUND, VILLAGE):
        idx = np.flatnonzero(kind == k)
        region[idx] = rng.choice(len(HENAN_REGION_CODES), size=idx.size, p=REGION_P[k])
    sex = np.where(male, "M", "F")
    ids = make_id_numbers(rng, n, HENAN_REGION_CODES, birth_days, region_index=region, sexes=sex)
    birth_year = birth_days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    names = person_names(rng, male=male, birth_year=birth_year)
    home = _by_weight(rng, np.select([age >= 80, age >= 70, age >= 60], [3.0, 1.0, 0.3], 0.02), 0.005)
    # Airport staff live in the compounds more than factory workers do.
    eligible = (age >= 18) & (age <= 59) & ~home
    in_key = _by_weight(rng, eligible * np.array([0.4, 1.0, 0.7])[kind], 0.015)
    key_group = np.where(in_key, rng.choice([1, 2, 3], size=n, p=[0.6, 0.25, 0.15]), 0).astype(np.int8)
    return PeopleArrays(name=names, id_number=ids, birth_days=birth_days, sex=sex, phone=phones, building=building,
                        unit=unit, room=room.astype("U6").tolist(), home_sampling=home, key_group=key_group)


def _staff(rng: np.random.Generator, med: np.ndarray, gen: np.ndarray, phones: list[str]) -> StaffArrays:
    c = np.arange(len(med))
    community = np.concatenate([np.repeat(c, med), np.repeat(c, gen)]).astype(np.int32)
    role = np.array(["medical"] * int(med.sum()) + ["general"] * int(gen.sum()))
    male = rng.random(len(role)) < np.where(role == "medical", 0.3, 0.5)
    year = REFERENCE_DATE.year - rng.integers(22, 56, len(role))
    return StaffArrays(person_names(rng, male=male, birth_year=year), phones, role, community)


def generate_district(*, people: int = 50_000, seed: int = 1) -> District:
    """Exactly `people` residents; the same seed always gives the same district."""
    if people < 10:
        raise ValueError("a district needs at least 10 people")
    rng = np.random.default_rng(seed)
    pool = StemPool(rng)
    offices, communities, pops, centres, radii = _communities(rng, people, pool)

    # Buildings and grids, community by community (a few thousand buildings at most).
    kind_l: list[int] = []
    x_l: list[float] = []
    y_l: list[float] = []
    size_l: list[int] = []
    name_l: list[str] = []
    grid_l: list[int] = []
    grids: list[tuple[str, str, int]] = []
    parks: list[str | None] = []
    for ci, comm in enumerate(communities):
        kinds, xs, ys, sizes, names, park = _buildings(rng, pool, int(pops[ci]), comm.character, centres[ci], radii[ci])
        parks.append(park)
        xy, w = np.column_stack([xs, ys]), np.array(sizes, dtype=np.float64)
        g = int(min(len(sizes), np.clip(round(pops[ci] / 1800), 1, 6)))
        local = np.empty(len(sizes), dtype=np.int64)
        for gi, members in enumerate(_split(np.arange(len(sizes)), xy, w, g)):
            local[members] = len(grids) + gi
        grids.extend((f"{comm.code}G{gi + 1:02d}", f"第{gi + 1}网格", ci) for gi in range(g))
        kind_l.extend(kinds)
        x_l.extend(xs)
        y_l.extend(ys)
        size_l.extend(sizes)
        name_l.extend(names)
        grid_l.extend(local)
    order = np.argsort(np.array(grid_l), kind="stable")
    b_grid = np.array(grid_l, dtype=np.int32)[order]
    b_kind = np.array(kind_l, dtype=np.int8)[order]
    b_size = np.array(size_l, dtype=np.int64)[order]
    b_x, b_y = np.array(x_l)[order], np.array(y_l)[order]
    b_lon, b_lat = _lonlat(b_x, b_y)
    b_name = [name_l[i] for i in order.tolist()]
    b_start = np.searchsorted(b_grid, b_grid)
    b_code = [f"{grids[g][0]}B{i - s + 1:04d}" for i, (g, s) in enumerate(zip(b_grid.tolist(), b_start.tolist(), strict=False))]
    per_hh = np.array([_BUILDING[k][3] for k in (DORM, COMPOUND, VILLAGE)])[b_kind]
    households = np.clip(np.where(b_kind == DORM, np.ceil(b_size / per_hh), np.round(b_size / per_hh)), 1, b_size)
    households = households.astype(np.int64)

    grid_rows = []
    bounds = np.searchsorted(b_grid, np.arange(len(grids) + 1))
    for gi, (code, name, ci) in enumerate(grids):
        s, e = bounds[gi], bounds[gi + 1]
        lo_lon, hi_lon = b_lon[s:e].min() - 0.0006, b_lon[s:e].max() + 0.0006  # ~55 m margin
        lo_lat, hi_lat = b_lat[s:e].min() - 0.0005, b_lat[s:e].max() + 0.0005
        ring = [(lo_lon, lo_lat), (hi_lon, lo_lat), (hi_lon, hi_lat), (lo_lon, hi_lat), (lo_lon, lo_lat)]
        grid_rows.append(GridRow(code, name, ci, [(round(float(a), 6), round(float(b), 6)) for a, b in ring]))

    # Staff sizes need no randomness; phones are drawn for everyone at once so none repeat.
    med = np.maximum(3, _allocate(round(people / 360 * 1.6), pops))
    gen = np.maximum(4, _allocate(round(people / 250), pops))
    phones = mobile_numbers(rng, people + int(med.sum() + gen.sum()))
    residents = _people(rng, b_kind, b_size, households, phones[:people])
    staff = _staff(rng, med, gen, phones[people:])

    # Candidate sites; about a fifth of the rural communities get only two small ones.
    rural = [i for i, c in enumerate(communities) if c.character == "rural"]
    thin = set(rng.choice(rural, size=max(1, round(0.2 * len(rural))), replace=False).tolist()) if rural else set()
    b_comm = np.array([g[2] for g in grids], dtype=np.int64)[b_grid]
    c_bounds = np.searchsorted(b_comm, np.arange(len(communities) + 1))
    sites: list[CandidateSiteRow] = []
    for ci, comm in enumerate(communities):
        s, e = c_bounds[ci], c_bounds[ci + 1]
        sites.extend(_sites(rng, pool, comm, ci, int(pops[ci]), np.column_stack([b_x[s:e], b_y[s:e]]),
                            b_size[s:e].astype(np.float64), b_kind[s:e] == DORM, centres[ci], parks[ci], ci in thin))
    # Then sites near every group of housing (their own draws, so that the sites above and everything
    # else stay as a seed always made them); the thin villages keep their small hamlets out of reach,
    # for mobile sites and home sampling, the exception they are in practice.
    cover_rng = np.random.default_rng([seed, 1])
    for ci, comm in enumerate(communities):
        s, e = c_bounds[ci], c_bounds[ci + 1]
        own = [r for r in sites if r.community == ci]
        sites.extend(_cover(cover_rng, pool, comm, ci, np.column_stack([b_x[s:e], b_y[s:e]]), b_size[s:e].astype(np.float64),
                            own, len(own), THIN_HAMLET_PEOPLE if ci in thin else 0.0))
    sites.sort(key=lambda r: r.code)

    return District(
        seed=seed,
        offices=offices,
        communities=communities,
        grids=grid_rows,
        buildings=BuildingArrays(
            code=b_code, name=b_name, grid=b_grid, kind=np.array(BUILDING_KINDS)[b_kind],
            lon=b_lon, lat=b_lat, households=households.astype(np.int32),
        ),
        people=residents,
        candidate_sites=sites,
        staff=staff,
        key_groups=list(KEY_GROUPS),
    )
