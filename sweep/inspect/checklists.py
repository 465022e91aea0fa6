"""Checklist templates drawn from the round's SOP (the "54321" method and the national guideline).

Each item: (section, text, critical). A failed critical item must be put right before sampling
goes on; the rest by the visit's rectification deadline.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TemplateSpec:
    code: str
    name: str
    version: int
    items: tuple[tuple[str, str, bool], ...]


SITE = TemplateSpec(
    code="site",
    name="采样点现场督导 (sampling site inspection)",
    version=1,
    items=(
        ("四个到位 four in place", "物资在采样开始前2小时到位 (materials in place two hours before the start)", False),
        ("四个到位 four in place", "医务人员按时到岗 (medical staff at their posts on time)", True),
        ("四个到位 four in place", "场地按时消毒并有记录 (site disinfected on time, with a log)", False),
        ("四个到位 four in place",
         "医疗废物按时清运，双层黄色医废袋、3/4满扎口、称重交接登记 (medical waste: double yellow bags, tied at 3/4, weighed and signed over)", False),
        ("三个清 three clarities", "点长在岗，职责明确 (the site leader is present and responsible)", True),
        ("三个清 three clarities",
         "六大员齐全：引导、登记、采样、秩序、消杀、转运 (the six roles all staffed: guide, registrar, sampler, order keeper, disinfector, courier)", False),
        ("三个清 three clarities", "分工表张贴或可查 (the division-of-labour table is posted or at hand)", False),
        ("三个有序 three orderlies", "按楼栋分时段通知，无大规模聚集 (buildings called by slot; no crowding)", False),
        ("三个有序 three orderlies", "排队保持1米间距，专人维持秩序 (queues keep 1 m apart, kept by an order keeper)", False),
        ("三个有序 three orderlies", "先扫码登记后采样，管码与人员一一对应 (scan before swabbing; every person in the right tube)", True),
        ("三个有序 three orderlies", "混采不超过规定人数（十混一）(no pool above its size, 10 to a tube)", True),
        ("三个有序 three orderlies", "样本2–4小时内送达，转运箱密封、双签收 (tubes to the lab within 2-4 h, boxes sealed, signed by courier and lab)", True),
        ("重点人群 key groups", "重点人群单人单管 (key groups sampled one to a tube)", False),
        ("防护 protection", "采样人员防护到位，每采一人手消毒 (samplers fully protected; hands disinfected after each person)", True),
        ("防护 protection", "高温下采样人员每2小时轮换 (samplers rotated every two hours in heat)", False),
        ("便民 service", "老弱病残有绿色通道，行动不便者登记上门采样 (a priority lane for the elderly and disabled; home sampling arranged)", False),
    ),
)

HOME = TemplateSpec(
    code="home",
    name="上门采样督导 (home sampling inspection)",
    version=1,
    items=(
        ("准备 preparation", "上门名单与登记册核对一致 (the home list matches the registry)", False),
        ("防护 protection", "上门人员防护到位，每户之间手消毒 (the team fully protected; hands disinfected between households)", True),
        ("采样 sampling", "先扫码后采样，单采或按户混采 (scan first; single or per-household pooling)", True),
        ("转运 transport", "样本随身冷藏，当日送检 (samples kept cool and delivered the same day)", False),
        ("医废 waste", "医疗废物带回集中处置 (medical waste brought back for disposal)", False),
    ),
)

DEFAULT_TEMPLATES = (SITE, HOME)

__all__ = ["DEFAULT_TEMPLATES", "HOME", "SITE", "TemplateSpec"]
