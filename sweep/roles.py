"""The site leader and the six roles (六大员), named once for the whole of Sweep."""

from __future__ import annotations

from enum import StrEnum


class SiteRole(StrEnum):
    SITE_LEADER = "site_leader"
    GUIDE = "guide"
    REGISTRAR = "registrar"
    SAMPLER = "sampler"
    ORDER_KEEPER = "order_keeper"
    DISINFECTOR = "disinfector"
    COURIER = "courier"


SIX_ROLES: tuple[SiteRole, ...] = (
    SiteRole.GUIDE,
    SiteRole.REGISTRAR,
    SiteRole.SAMPLER,
    SiteRole.ORDER_KEEPER,
    SiteRole.DISINFECTOR,
    SiteRole.COURIER,
)

ROLE_LABELS_ZH: dict[SiteRole, str] = {
    SiteRole.SITE_LEADER: "点长",
    SiteRole.GUIDE: "引导员",
    SiteRole.REGISTRAR: "登记员",
    SiteRole.SAMPLER: "采样员",
    SiteRole.ORDER_KEEPER: "秩序维护员",
    SiteRole.DISINFECTOR: "消杀员",
    SiteRole.COURIER: "转运员",
}
