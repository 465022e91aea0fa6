"""Who may do what, and where. One table, so that a reviewer reads the whole policy at once.

Roles are scoped: an office user to an office, site staff and site leaders to one site.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sweep.auth.models import SITE_ROLES
from sweep.errors import Forbidden, WrongSite


class Can(StrEnum):
    SCAN = "scan"  # open tubes, scan people, seal, pack boxes
    CHECK_IN = "check_in"  # readiness check-ins (四个到位)
    HAND_OVER = "hand_over"  # sign a box over to the courier
    RECEIVE = "receive"  # the lab signs for a box
    RESULTS = "results"  # load lab results
    SEE_CONTACTS = "see_contacts"  # names with phone numbers and addresses
    REVEAL_ID = "reveal_id"  # full ID numbers (audited)
    EXPORT = "export"  # spreadsheets of personal data (audited)
    IMPORT = "import"  # load the registry from the communities' spreadsheets
    PLAN = "plan"  # make and change the plan of a round
    INSPECT = "inspect"  # supervision visits and findings
    VIEW_ROUND = "view_round"  # the round's figures, coverage, map
    FOLLOW_UP = "follow_up"  # exemptions and home-sampling tasks (the offices' door-to-door work)
    RECTIFY = "rectify"  # report a finding put right (a site leader at their own site)
    KEY_GROUPS = "key_groups"  # key-group workplaces, members, schedules and their tests
    MANAGE_USERS = "manage_users"


POLICY: dict[str, frozenset[Can]] = {
    "admin": frozenset(Can),
    "command": frozenset(
        {Can.IMPORT, Can.SEE_CONTACTS, Can.REVEAL_ID, Can.EXPORT, Can.PLAN, Can.VIEW_ROUND, Can.RESULTS, Can.CHECK_IN, Can.FOLLOW_UP,
         Can.RECTIFY, Can.KEY_GROUPS}
    ),
    "office": frozenset({Can.IMPORT, Can.SEE_CONTACTS, Can.REVEAL_ID, Can.EXPORT, Can.VIEW_ROUND, Can.CHECK_IN, Can.FOLLOW_UP}),
    "site_leader": frozenset({Can.SCAN, Can.CHECK_IN, Can.HAND_OVER, Can.SEE_CONTACTS, Can.VIEW_ROUND, Can.RECTIFY}),
    "site_staff": frozenset({Can.SCAN, Can.CHECK_IN, Can.HAND_OVER}),
    "courier": frozenset({Can.HAND_OVER}),
    "lab": frozenset({Can.RECEIVE, Can.RESULTS}),
    "inspector": frozenset({Can.INSPECT, Can.RECTIFY, Can.VIEW_ROUND}),
}

ROLE_LABELS_ZH = {
    "admin": "系统管理员",
    "command": "指挥部",
    "office": "办事处/社区",
    "site_leader": "点长",
    "site_staff": "采样点工作人员",
    "courier": "转运员",
    "lab": "检测机构",
    "inspector": "督导组",
}


def can(user: Any, action: Can) -> bool:
    return bool(user.active) and action in POLICY.get(user.role, frozenset())


def require(user: Any, action: Can) -> None:
    if not can(user, action):
        raise Forbidden("role", f"角色“{ROLE_LABELS_ZH.get(user.role, user.role)}”无权执行此操作 (role {user.role} may not {action.value})")


def require_site(user: Any, plan_site_id: int) -> None:
    """Site staff write only to their own site, in whichever round; district roles to any.

    ``user`` is the request's principal, which knows its site's copy in every round
    (``site_ids``). Where the site row is at hand, ``sweep.auth.scope.may_write_site`` answers
    the same question for every role.
    """
    if user.role in SITE_ROLES and plan_site_id not in getattr(user, "site_ids", ()):
        raise WrongSite("site", "您不属于这个采样点 (you are not assigned to this site)")
