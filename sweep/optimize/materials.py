"""Materials and the timeline of the day (四个到位): what each site needs, and by when.

Times are minutes from the start of sampling (negative: before it). Quantities carry the spare
share for breakage and re-swabs; key-group members are swabbed one to a tube (single sampling).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Practice figures, each a planning rule of thumb rather than a national standard:
PPE_SPARE = 0.2  # a fifth more protective suits for tears and toilet breaks
DISINFECTANT_L_PER_DESK = 5.0  # 含氯消毒液 for surfaces and hands over the day
DISINFECTANT_L_PER_1000 = 2.0
WASTE_BAG_PEOPLE = 150  # one yellow bag (tied at three-quarters) per ~150 swabs with gloves and packaging
SET_UP_MINUTES = 30  # disinfection of the site before the first swab
WASTE_AFTER_MINUTES = 60  # the last waste pickup, after the window closes
FILL_MARGIN_MINUTES = 15  # a tube fills and is sealed within a quarter hour at the slowest desk


# The two staff items of a site: its samplers (medical staff) and everyone else, checked in apart.
STAFF_LABELS = {"medical": "医护人员到位 medical staff in place", "general": "工作人员到位 other staff in place"}

@dataclass(frozen=True)
class SiteNeeds:
    people: int  # walk-in people
    key_people: int  # of them, single-sampled
    home_people: int
    desks: int
    staff_shifts: int  # person-shifts of the day (a sampler's rotation is a shift)
    medical_staff: int
    general_staff: int


@dataclass(frozen=True)
class MaterialLine:
    item: str  # label, Chinese first
    unit: str
    quantity: int
    due_minute: int


@dataclass(frozen=True)
class Event:
    minute: int
    kind: str  # 'materials' | 'staff' | 'disinfection' | 'waste' | 'courier' | 'sampling'
    label: str
    quantity: int | None = None


def tubes_needed(people: int, key_people: int, home_people: int, pool_size: int, spare: float) -> int:
    pooled = people - key_people + home_people
    return math.ceil((math.ceil(pooled / pool_size) + key_people) * (1 + spare))


def materials(needs: SiteNeeds, *, pool_size: int, box_size: int, spare: float, ready_before_minutes: int) -> list[MaterialLine]:
    due = -ready_before_minutes
    swabbed = needs.people + needs.home_people
    tubes = tubes_needed(needs.people, needs.key_people, needs.home_people, pool_size, spare)
    return [
        MaterialLine("拭子 swabs", "支 each", math.ceil(swabbed * (1 + spare)), due),
        MaterialLine("采样管 tubes", "支 each", tubes, due),
        MaterialLine("转运箱 boxes", "个 each", math.ceil(tubes / box_size) + 1, due),
        MaterialLine("防护用品 PPE sets", "套 sets", math.ceil(needs.staff_shifts * (1 + PPE_SPARE)), due),
        MaterialLine("消毒液 disinfectant", "升 litres",
                     math.ceil(DISINFECTANT_L_PER_DESK * needs.desks + DISINFECTANT_L_PER_1000 * swabbed / 1000), due),
        MaterialLine("医废袋 waste bags (double yellow)", "个 each", 2 * max(2, math.ceil(swabbed / WASTE_BAG_PEOPLE)), due),
    ]


def courier_every(sample_wait_limit_minutes: int) -> int:
    """Minutes between courier runs so that no tube waits longer than the limit before leaving."""
    return max(15, (sample_wait_limit_minutes - FILL_MARGIN_MINUTES) // 15 * 15)


def timeline(needs: SiteNeeds, *, window_minutes: int, ready_before_minutes: int, staff_ready_before_minutes: int,
             rotation_minutes: int, sample_wait_limit_minutes: int, last_slot_end: int) -> list[Event]:
    """The site's day: deliveries, arrivals, disinfection rounds, courier runs, waste pickups."""
    ev = [
        Event(-ready_before_minutes, "materials", "物资到位 materials in place"),
        Event(-staff_ready_before_minutes, "staff", STAFF_LABELS["medical"], needs.medical_staff),
        Event(-staff_ready_before_minutes, "staff", STAFF_LABELS["general"], needs.general_staff),
        Event(-SET_UP_MINUTES, "disinfection", "开检前消杀 disinfection before opening"),
        Event(0, "sampling", "开始采样 sampling opens"),
        Event(last_slot_end, "sampling", "最后一个时段结束 last call-up slot ends"),
    ]
    for t in range(rotation_minutes, window_minutes, rotation_minutes):
        ev.append(Event(t, "disinfection", f"轮换消杀 disinfection at rotation {t // rotation_minutes}"))
        ev.append(Event(t, "waste", f"医废清运 waste pickup {t // rotation_minutes}"))
    ev.append(Event(window_minutes, "disinfection", "收尾消杀 final disinfection"))
    ev.append(Event(window_minutes + WASTE_AFTER_MINUTES, "waste", "医废清运 final waste pickup"))
    every = courier_every(sample_wait_limit_minutes)
    runs = [*list(range(every, window_minutes, every)), window_minutes + FILL_MARGIN_MINUTES]
    for k, t in enumerate(runs, start=1):
        ev.append(Event(t, "courier", f"转运 courier run {k}"))
    return sorted(ev, key=lambda e: (e.minute, e.kind, e.label))
