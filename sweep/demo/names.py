"""Names, phone numbers and home regions for the synthetic district (simplified Chinese).

Kept apart from the geometry so district.py reads as the structure of the
place, not as a dictionary.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sweep.registry.idnumber import HENAN_REGION_CODES, ZHENGZHOU_REGION_CODES

# np.strings is the fast ufunc namespace in numpy 2; np.char works on 1.26.
_str_add = getattr(np, "strings", np.char).add

# Real 办事处 names of the airport zone, so the map reads right to local staff.
OFFICE_NAMES: tuple[str, ...] = (
    "新港办事处", "滨河办事处", "明港办事处", "银河办事处", "张庄办事处", "龙港办事处",
    "八岗办事处", "三官庙办事处", "龙王办事处", "冯堂办事处", "岗李办事处", "八千办事处",
)

# Roughly by frequency; Henan's list is close to the national one.
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕"
    "苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江"
    "史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文牛岳申席楚闫耿位"
)
_SURNAME_P = 1.0 / np.arange(1, len(SURNAMES) + 1) ** 0.75
_SURNAME_P /= _SURNAME_P.sum()

# Given-name characters drift with the generations; a 1950s 秀英 next to a
# 2010s 梓涵 is what a real registry looks like.  Index: [era][female].
_GIVEN = (
    ("建国军民华明志强文德成福贵保春林山海忠红卫东平兴中金发祥友庆长生振广学荣永胜宝富",
     "秀英兰桂芳珍玉凤梅霞淑华琴云莲翠花荣香红素彩月爱菊美春巧金娥"),
    ("伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波亮峰健俊凯龙阳帅东海永建文浩洋林新庆晓志",
     "芳娜敏静丽艳娟霞燕玲婷雪慧莉颖倩琳洁丹萍红晶蕾佳美媛露晓月雅欢"),
    ("子浩宇轩梓睿博泽俊铭航宸一诺皓阳晨逸辰昊鑫嘉奕天佑锦瑞明豪杰",
     "子涵梓欣怡诗雨萱可馨佳悦思琪若语一依彤妍晨嘉婉沐瑶安雅心舒柔"),
)
_GIVEN_ARR = tuple(tuple(np.array(list(pool)) for pool in era) for era in _GIVEN)
_SINGLE_CHAR_P = (0.35, 0.30, 0.12)  # share of one-character given names per era
_ERA_BOUNDS = (1970, 2000)
_MOBILE_PREFIXES = np.array([*range(130, 140), 150, 151, 152, 153, 155, 156, 157, 158, 159, *range(180, 190)])

# Two-character place stems: product of these gives several hundred names.
_STEM_FIRST = "龙港航祥和康安富华鸿兴瑞嘉锦银滨明新泰福梅桃双雁太金丰盛永德"
_STEM_SECOND = "翔苑园城湾庭馨和盛源泰悦华丰安兴河湖景平庄宁康乐"

_VILLAGE_ROOTS = "张李王刘陈杨赵黄周吴徐孙胡朱高郭马梁宋郑谢韩唐冯于董程曹袁许魏薛孟申岳常武乔"
_VILLAGE_SUFFIX = "庄寨岗楼营店集湾桥屯堂"

_ESTATE_SUFFIX = ("苑", "园", "家园", "花园", "小区", "新城", "佳苑", "名门")
_PARK_SUFFIX = ("智能终端产业园", "电子信息产业园", "精密制造园", "航空物流园", "生物医药园", "新型显示产业园")
_SCHOOL_SUFFIX = ("小学", "第一小学", "实验小学", "中学", "实验学校")
_SQUARE_SUFFIX = ("广场", "文化广场", "休闲广场")


def person_names(rng: np.random.Generator, *, male: np.ndarray, birth_year: np.ndarray) -> list[str]:
    """One Chinese name per person, vectorised by (era, sex) group."""
    n = len(male)
    surname = np.array(list(SURNAMES))[rng.choice(len(SURNAMES), size=n, p=_SURNAME_P)]
    first = np.empty(n, dtype="<U1")
    second = np.empty(n, dtype="<U1")
    era = np.digitize(birth_year, _ERA_BOUNDS)
    for e in range(3):
        single_p = _SINGLE_CHAR_P[e]
        for female in (0, 1):
            idx = np.flatnonzero((era == e) & (male != bool(female)))
            pool = _GIVEN_ARR[e][female]
            first[idx] = pool[rng.integers(0, len(pool), size=idx.size)]
            two = rng.random(idx.size) >= single_p
            second[idx[two]] = pool[rng.integers(0, len(pool), size=int(two.sum()))]
    return _str_add(_str_add(surname, first), second).tolist()


def mobile_numbers(rng: np.random.Generator, n: int) -> list[str]:
    """n distinct 11-digit mainland mobile numbers (13x/15x/18x)."""

    def draw(k: int) -> np.ndarray:
        return _MOBILE_PREFIXES[rng.integers(0, len(_MOBILE_PREFIXES), k)] * 10**8 + rng.integers(0, 10**8, k)

    nums = draw(n)
    while True:  # ~n²/5e9 collisions: a few hundred at a million, gone in two rounds
        order = np.argsort(nums, kind="stable")
        dup = order[1:][nums[order[1:]] == nums[order[:-1]]]
        if dup.size == 0:
            return nums.astype("U11").tolist()
        nums[dup] = draw(dup.size)


def _region_p(xinzheng: float, zhongmou: float, rest_of_zhengzhou: float, rest_of_henan: float) -> np.ndarray:
    # Relies on idnumber's ordering: 新郑, 中牟, other Zhengzhou codes, then the rest of Henan.
    z, h = len(ZHENGZHOU_REGION_CODES), len(HENAN_REGION_CODES)
    p = np.empty(h)
    p[0], p[1] = xinzheng, zhongmou
    p[2:z] = rest_of_zhengzhou / (z - 2)
    p[z:] = rest_of_henan / (h - z)
    return p / p.sum()


# Home-region choice by building kind (dormitory, compound, village): migrant
# workers come from all over Henan, villagers are almost all from 新郑/中牟.
REGION_P = (_region_p(0.08, 0.04, 0.08, 0.80), _region_p(0.50, 0.20, 0.15, 0.15), _region_p(0.70, 0.25, 0.04, 0.01))


class StemPool:
    """Hands out distinct two-character stems so no two places share a name."""

    def __init__(self, rng: np.random.Generator) -> None:
        stems = [a + b for a in _STEM_FIRST for b in _STEM_SECOND if a != b]
        self._stems = [stems[i] for i in rng.permutation(len(stems))]
        villages = [a + b for a in _VILLAGE_ROOTS for b in _VILLAGE_SUFFIX]
        self._villages = [villages[i] for i in rng.permutation(len(villages))]
        self._rng = rng
        self._n = 0
        self._nv = 0

    def stem(self) -> str:
        stem = self._stems[self._n % len(self._stems)]
        rounds = self._n // len(self._stems)
        self._n += 1
        # Past the pool size (only at several million people) prefix 东/西/...
        return ("", "东", "西", "南", "北", "新")[rounds % 6] + stem

    def village(self) -> str:
        name = self._villages[self._nv % len(self._villages)]
        rounds = self._nv // len(self._villages)
        self._nv += 1
        return ("", "东", "西", "南", "北", "前", "后")[rounds % 7] + name + "村"

    def _pick(self, options: Sequence[str]) -> str:
        return options[int(self._rng.integers(0, len(options)))]

    def community(self) -> str:
        return self.stem() + "社区"

    def estate(self) -> str:
        stem, suffix = self.stem(), self._pick(_ESTATE_SUFFIX)
        return stem + ("小区" if suffix[0] == stem[-1] else suffix)  # no "祥苑苑"

    def park(self) -> str:
        return self.stem() + self._pick(_PARK_SUFFIX)

    def site(self, kind: str, *, community_name: str, park: str | None, nth: int = 1) -> str:
        """Name of the nth candidate site of this kind in a community."""
        if kind == "community_centre":
            return community_name + "服务中心"
        if kind == "factory_yard":
            return (park or self.park()) + ("厂区空地" if nth == 1 else f"{nth}号厂区空地")
        if kind == "school":
            return self.stem() + self._pick(_SCHOOL_SUFFIX) + "操场"
        if kind == "square":
            return self.stem() + self._pick(_SQUARE_SUFFIX)
        return self.stem() + "停车场"
