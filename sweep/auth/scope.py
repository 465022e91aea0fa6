"""The one scope rule: which rows of people, buildings, sites, tubes, boxes, imports and findings a
user may read, and which sites they may change, as SQL filters that every service applies.

A role's permissions (``sweep.auth.policy``) say *what* a user may do; the scope says *where*.
The district roles reach everything; an office its office; a site leader or site staff their
site (the fixed candidate site, in every round) and, in a round, the buildings called to it and
the people sampled there; a courier the boxes handed to them; the lab every tube and box, people
only masked; an inspector the findings of their own inspections. Aggregate counts (coverage by
area, figures, the dashboard) need the round, not people, and follow ``buildings``.

The filters are built on the schema's tables by name (``Base.metadata``), not on the areas'
classes: auth sits below the registry, the plan and the field, and must not import them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, false, or_, select, true

from sweep.auth.models import SITE_ROLES
from sweep.errors import Forbidden, WrongSite
from sweep.schema import schema_table

DISTRICT_ROLES = ("admin", "command")
# Who sees names with phone numbers and addresses at all (the rest see people masked, if at all).
CONTACT_ROLES = ("admin", "command", "office", "site_leader")

# How far each role reaches, per kind of row. "all", "office", "site", "none", and for one kind
# each the courier's "handed" (boxes handed to them) and the inspector's "own" (their inspections).
REACH: dict[str, dict[str, str]] = {
    "admin":      dict(people="all", buildings="all", sites="all", tubes="all", boxes="all", imports="all", findings="all"),
    "command":    dict(people="all", buildings="all", sites="all", tubes="all", boxes="all", imports="all", findings="all"),
    "office":     dict(people="office", buildings="office", sites="office", tubes="office", boxes="office", imports="office",
                       findings="office"),
    "site_leader": dict(people="site", buildings="site", sites="site", tubes="site", boxes="site", imports="none", findings="site"),
    "site_staff": dict(people="site", buildings="site", sites="site", tubes="site", boxes="site", imports="none", findings="site"),
    "courier":    dict(people="none", buildings="none", sites="all", tubes="none", boxes="handed", imports="none", findings="none"),
    "lab":        dict(people="all", buildings="none", sites="all", tubes="all", boxes="all", imports="none", findings="none"),
    "inspector":  dict(people="none", buildings="all", sites="all", tubes="none", boxes="none", imports="none", findings="own"),
}


class OutOfScope(Forbidden):
    code = "out_of_scope"


class UserLike(Protocol):
    """What the scope reads of a user: an account, a request's principal or a row with their columns."""

    @property
    def id(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def office_id(self) -> int | None: ...
    @property
    def candidate_site_id(self) -> int | None: ...
    @property
    def active(self) -> bool: ...


_t = schema_table


@dataclass(frozen=True)
class Scope:
    """What one user reaches. Build it with ``Scope.of(user)``; ``Scope.system()`` is the server's own work."""

    role: str
    user_id: int | None = None
    office_id: int | None = None
    candidate_site_id: int | None = None
    active: bool = True

    @classmethod
    def of(cls, user: UserLike) -> Scope:
        return cls(role=user.role, user_id=user.id, office_id=user.office_id,
                   candidate_site_id=getattr(user, "candidate_site_id", None), active=bool(user.active))

    @classmethod
    def system(cls, user_id: int | None = None) -> Scope:
        """The district-wide reach of work the server does on its own behalf (the CLI, the demo)."""
        return cls(role="admin", user_id=user_id)

    def reach(self, kind: str) -> str:
        if not self.active:
            return "none"
        reach = REACH.get(self.role, {}).get(kind, "none")
        # A scoped role without its office or site reaches nothing, rather than everything.
        if (reach == "office" and self.office_id is None) or (reach == "site" and self.candidate_site_id is None):
            return "none"
        return reach

    @property
    def contacts(self) -> bool:
        """Whether names with phones and addresses are shown (the lab sees people masked)."""
        return self.active and self.role in CONTACT_ROLES

    # -- the filters -----------------------------------------------------------------------------

    def _site_ids(self, campaign_id: int | None = None) -> Any:
        sites = _t("plan_sites")
        query = select(sites.c.id).where(sites.c.candidate_site_id == self.candidate_site_id)
        return query.where(sites.c.campaign_id == campaign_id) if campaign_id is not None else query

    def _office_site_ids(self) -> Any:
        sites = _t("plan_sites")
        return select(sites.c.id).where(sites.c.office_id == self.office_id)

    def _called_buildings(self, campaign_id: int) -> Any:
        called = _t("plan_buildings")
        return select(called.c.building_id).where(called.c.campaign_id == campaign_id,
                                                  called.c.plan_site_id.in_(self._site_ids(campaign_id)))

    def people(self, campaign_id: int | None) -> ColumnElement[bool]:
        """Rows of ``people`` this user may see. A site's people are those of one round: without one, none."""
        people, reach = _t("people"), self.reach("people")
        if reach == "all":
            return true()
        if reach == "office":
            # And those registered at its sites who are in no office yet (walk-ins, 临时登记).
            walk_ins = _t("walk_ins")
            registered_here = select(walk_ins.c.person_id).where(walk_ins.c.plan_site_id.in_(self._office_site_ids()))
            return or_(people.c.office_id == self.office_id, and_(people.c.office_id.is_(None), people.c.id.in_(registered_here)))
        if reach == "site" and campaign_id is not None:
            samples = _t("samples")
            sampled_here = select(samples.c.person_id).where(samples.c.campaign_id == campaign_id,
                                                            samples.c.plan_site_id.in_(self._site_ids(campaign_id)))
            return or_(people.c.building_id.in_(self._called_buildings(campaign_id)), people.c.id.in_(sampled_here))
        return false()

    def buildings(self, campaign_id: int | None) -> ColumnElement[bool]:
        buildings, reach = _t("buildings"), self.reach("buildings")
        if reach == "all":
            return true()
        if reach == "office":
            return buildings.c.office_id == self.office_id
        if reach == "site" and campaign_id is not None:
            return buildings.c.id.in_(self._called_buildings(campaign_id))
        return false()

    def sites(self) -> ColumnElement[bool]:
        sites, reach = _t("plan_sites"), self.reach("sites")
        if reach == "all":
            return true()
        if reach == "office":
            return sites.c.office_id == self.office_id
        if reach == "site":
            return sites.c.candidate_site_id == self.candidate_site_id
        return false()

    def tubes(self) -> ColumnElement[bool]:
        tubes, reach = _t("tubes"), self.reach("tubes")
        if reach == "all":
            return true()
        if reach == "office":
            return tubes.c.plan_site_id.in_(self._office_site_ids())
        if reach == "site":
            return tubes.c.plan_site_id.in_(self._site_ids())
        return false()

    def boxes(self) -> ColumnElement[bool]:
        boxes, reach = _t("boxes"), self.reach("boxes")
        if reach == "all":
            return true()
        if reach == "office":
            return boxes.c.plan_site_id.in_(self._office_site_ids())
        if reach == "site":
            return boxes.c.plan_site_id.in_(self._site_ids())
        if reach == "handed":
            handovers = _t("handovers")
            return boxes.c.id.in_(select(handovers.c.box_id).where(handovers.c.courier_id == self.user_id))
        return false()

    def imports(self) -> ColumnElement[bool]:
        imports, reach = _t("registry_imports"), self.reach("imports")
        if reach == "all":
            return true()
        if reach == "office":
            return imports.c.office_id == self.office_id
        return false()

    def findings(self) -> ColumnElement[bool]:
        findings, reach = _t("inspection_findings"), self.reach("findings")
        if reach == "all":
            return true()
        if reach == "office":
            return findings.c.plan_site_id.in_(self._office_site_ids())
        if reach == "site":
            return findings.c.plan_site_id.in_(self._site_ids())
        if reach == "own":
            inspections = _t("inspections")
            return findings.c.inspection_id.in_(select(inspections.c.id).where(inspections.c.inspector_id == self.user_id))
        return false()

    # -- checks on one row already read ------------------------------------------------------------

    def may_write_site(self, plan_site: Any) -> bool:
        """Whether this user may write at a site (a ``PlanSite`` or anything with its office and candidate site).

        The district everywhere, an office at its own sites, site staff at their own site in any
        round, a courier at any site (taking a box is the courier's signature).
        """
        if not self.active:
            return False
        if self.role in DISTRICT_ROLES or self.role == "courier":
            return True
        if self.role == "office":
            return self.office_id is not None and plan_site.office_id == self.office_id
        if self.role in SITE_ROLES:
            return self.candidate_site_id is not None and plan_site.candidate_site_id == self.candidate_site_id
        return False

    def may_write_office(self, office_id: int | None) -> bool:
        """Whether rows of an office (people, buildings, an import's rows) may be changed by this user."""
        reach = self.reach("people")
        return reach == "all" or (reach == "office" and office_id == self.office_id)

    def require_site(self, plan_site: Any, *, field: str = "site") -> None:
        if not self.may_write_site(plan_site):
            raise WrongSite(field, "您不属于这个采样点 (you are not assigned to this site)")

    def refuse(self, field: str, what: str) -> OutOfScope:
        """The error for a row outside the scope, named as the row it is."""
        return OutOfScope(field, f"不在您的辖区内 (outside your area): {what}")

    def area(self) -> str:
        """A short name of the area, for the audit log."""
        if self.reach("people") == "all":
            return "district"
        if self.office_id is not None and self.role == "office":
            return f"office:{self.office_id}"
        if self.candidate_site_id is not None:
            return f"site:{self.candidate_site_id}"
        return "none"


def may_write_site(user: UserLike, plan_site: Any) -> bool:
    """The scan path's question, in one call: may this user write at this site (a ``PlanSite``)?"""
    return Scope.of(user).may_write_site(plan_site)


__all__ = ["CONTACT_ROLES", "DISTRICT_ROLES", "REACH", "OutOfScope", "Scope", "may_write_site", "schema_table"]
