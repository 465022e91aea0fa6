"""People from outside the district who come to a site on the day (流动人口): visitors, workers on a site,
tenants who moved in after the registry was made. Registered at the desk (临时登记) in the demo's day."""

from __future__ import annotations

import numpy as np

from sweep.demo.names import mobile_numbers, person_names
from sweep.registry.idnumber import make_id_numbers

# Hometowns outside Henan (the district's own people are all from Henan's region codes), so that a
# visitor is never someone of the registry: Beijing, Shanghai, Wuhan, Xi'an, Chengdu.
HOMETOWNS = ("110105", "310115", "420106", "610113", "510107")
REASONS = ("visitor", "worker", "new_resident")
REASON_P = (0.5, 0.35, 0.15)
ADDRESSES = ("航空港区临时住所", "工地宿舍", "亲友家中", "酒店")


def visitors(rng: np.random.Generator, n: int, taken: set[str] | None = None) -> list[dict[str, str]]:
    """n people to register at the desk: a valid ID number, a name, a phone, where they stay and why.

    ``taken`` holds the ID numbers of the visitors drawn before (at the day's other sites): each
    person comes once, so a number drawn again is drawn anew; the new ones are added to it."""
    if n == 0:
        return []
    taken = set() if taken is None else taken
    out = _draw(rng, n)
    todo = list(range(n))
    while todo:
        clash = []
        for k in todo:
            if out[k]["id_number"] in taken:
                clash.append(k)
            else:
                taken.add(out[k]["id_number"])
        if clash:
            for k, fresh in zip(clash, _draw(rng, len(clash)), strict=True):
                out[k] = fresh
        todo = clash
    return out


def _draw(rng: np.random.Generator, n: int) -> list[dict[str, str]]:
    male = rng.random(n) < 0.55
    age = rng.integers(18, 66, n)
    birth_days = ((2026 - age - 1970) * 365.25 + rng.integers(0, 365, n)).astype(np.int32)
    birth_year = birth_days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    ids = make_id_numbers(rng, n, HOMETOWNS, birth_days, sexes=np.where(male, "M", "F"))
    names = person_names(rng, male=male, birth_year=birth_year)
    phones = mobile_numbers(rng, n)
    reasons = rng.choice(len(REASONS), size=n, p=REASON_P)
    places = rng.integers(0, len(ADDRESSES), n)
    return [{"id_number": ids[k], "name": names[k], "phone": phones[k], "reason": REASONS[reasons[k]], "address": ADDRESSES[places[k]]}
            for k in range(n)]
