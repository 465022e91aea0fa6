"""Desks per site by queueing: M/M/c (Erlang C) waits and queue lengths.

Arrivals come at the call-up's rate (a Poisson stream is the cautious reading of "come in
your slot"), service is exponential around the mean swab time. A site gets the fewest desks
that keep utilisation under its ceiling, the mean wait under the target and the 95th
percentile of the queue inside the room the site has for a line at 1 m spacing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# A desk with its sampler, registrar and a cordon takes about 25 m² (a 3 × 2 m table and 2 m around).
DESK_FOOTPRINT_M2 = 25.0
# Half the rest of the ground can hold the line; the other half is entry, exit and the staff zone.
QUEUE_SHARE = 0.5
# One person per square metre: a line at 1 m spacing, lines 1 m apart.
M2_PER_PERSON = 1.0
QUEUE_QUANTILE = 0.95


def erlang_c(servers: int, load: float) -> float:
    """P(an arrival waits) in M/M/c with ``load`` = λ/μ Erlangs; 1.0 when the queue is unstable."""
    if servers <= 0:
        raise ValueError("servers must be positive")
    if load <= 0:
        return 0.0
    if load >= servers:
        return 1.0
    b = 1.0  # Erlang B by its stable recursion
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return servers * b / (servers - load * (1.0 - b))


def mean_wait(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean time in the queue (Wq), in the time unit of the rates; inf when unstable."""
    load = arrival_rate / service_rate
    if load >= servers:
        return math.inf
    return erlang_c(servers, load) / (servers * service_rate - arrival_rate)


def queue_quantile(servers: int, arrival_rate: float, service_rate: float, q: float = QUEUE_QUANTILE) -> float:
    """The smallest k with P(people waiting >= k) <= 1 - q; P(Nq >= k) = C·ρ^k in M/M/c. A count, or inf when unstable."""
    load = arrival_rate / service_rate
    if load >= servers:
        return math.inf
    c = erlang_c(servers, load)
    rho = load / servers
    if c <= 1 - q or rho <= 0:
        return 0
    return math.ceil(math.log((1 - q) / c) / math.log(rho))


def queue_room(area_m2: float | None, desks: int, max_desks: int) -> int:
    """People the site's ground holds in line; an unknown area counts 300 m² a desk of space."""
    area = area_m2 if area_m2 is not None else 300.0 * max_desks
    return max(0, int(QUEUE_SHARE * (area - DESK_FOOTPRINT_M2 * desks) / M2_PER_PERSON))


@dataclass(frozen=True)
class DeskSizing:
    desks: int
    utilisation: float
    mean_wait_minutes: float
    queue_p95: float  # people; inf when the line grows without bound
    queue_room: int
    fits: bool  # every target met within the desks the space allows
    reason: str  # why not, when it does not fit


def size_desks(*, people: float, window_minutes: float, service_minutes: float, max_desks: int,
               area_m2: float | None, wait_target_minutes: float, max_utilisation: float = 0.9) -> DeskSizing:
    """The fewest desks meeting utilisation, wait and queue-space targets for ``people`` over the window."""
    lam = people / window_minutes
    mu = 1.0 / service_minutes
    need = max(1, math.ceil(lam / (mu * max_utilisation) - 1e-9))
    best: DeskSizing | None = None
    for c in range(need, max(need, max_desks) + 1):
        wq = mean_wait(c, lam, mu)
        q95 = queue_quantile(c, lam, mu)
        room = queue_room(area_m2, c, max_desks)
        fits = c <= max_desks and wq <= wait_target_minutes and q95 <= room
        best = DeskSizing(c, lam / (c * mu), wq, q95, room, fits, "")
        if fits:
            return best
    assert best is not None
    c = min(best.desks, max_desks)
    wq, q95, room = mean_wait(c, lam, mu), queue_quantile(c, lam, mu), queue_room(area_m2, c, max_desks)
    if need > max_desks:
        reason = f"needs {need} desks, space allows {max_desks}"
    elif wq > wait_target_minutes:
        reason = f"mean wait {wq:.1f} min above the target {wait_target_minutes:g} min"
    else:
        reason = f"queue of {q95} people at the 95th percentile, room for {room}"
    return DeskSizing(c, lam / (c * mu), wq, q95, room, False, reason)
