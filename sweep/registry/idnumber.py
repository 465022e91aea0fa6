"""Chinese resident identity card numbers (GB 11643-1999).

Validation is deliberately forgiving about the birth *place* and strict about
everything that proves a number was mistyped (length, characters, check digit,
birth date): residents turn up with numbers issued under region codes that have
since been renamed or that newer reference tables do not list yet (the airport
zone's own code 410173 is one), and refusing them at a testing desk would stop
the queue for no benefit.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from stdnum import numdb

__all__ = [
    "CHECK_CHARS",
    "HENAN_REGION_CODES",
    "WEIGHTS",
    "ZHENGZHOU_REGION_CODES",
    "IdCheck",
    "InvalidIdNumber",
    "check_digit",
    "load_regions",
    "make_id_numbers",
    "mask_id_number",
    "region_check",
    "validate_id_number",
]

WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"  # indexed by (weighted sum % 11)

# Codes python-stdnum's cn/loc table knows, so generated residents validate
# without warnings.  The zone's own administrative code 410173 (and 410171/172
# for the other Zhengzhou development zones) is *not* in that table, which is
# why it is absent here.  410184 (新郑) and 410122 (中牟) come first because
# the airport zone was carved out of them and most local residents still carry them.
ZHENGZHOU_REGION_CODES: tuple[str, ...] = (
    "410184",  # 新郑市
    "410122",  # 中牟县
    "410102",  # 中原区
    "410103",  # 二七区
    "410104",  # 管城回族区
    "410105",  # 金水区
    "410106",  # 上街区
    "410108",  # 惠济区
    "410181",  # 巩义市
    "410182",  # 荥阳市
    "410183",  # 新密市
    "410185",  # 登封市
    "410100",  # 郑州市 (city-level code seen on older cards)
)
# Wider Henan: where the industrial parks' migrant workers come from.
HENAN_REGION_CODES: tuple[str, ...] = (
    *ZHENGZHOU_REGION_CODES,
    "410221",  # 开封 杞县
    "410222",  # 开封 通许县
    "410223",  # 开封 尉氏县
    "410225",  # 开封 兰考县
    "411102",  # 漯河 源汇区
    "411122",  # 漯河 临颍县
    "411024",  # 许昌 鄢陵县
    "411302",  # 南阳 宛城区
    "411321",  # 南阳 南召县
    "411381",  # 南阳 邓州市
    "411402",  # 商丘 梁园区
    "411421",  # 商丘 民权县
    "411422",  # 商丘 睢县
    "411425",  # 商丘 虞城县
    "411426",  # 商丘 夏邑县
    "411481",  # 商丘 永城市
    "411502",  # 信阳 浉河区
    "411521",  # 信阳 罗山县
    "411522",  # 信阳 光山县
    "411602",  # 周口 川汇区
    "411621",  # 周口 扶沟县
    "411622",  # 周口 西华县
    "411623",  # 周口 商水县
    "411624",  # 周口 沈丘县
    "411625",  # 周口 郸城县
    "411627",  # 周口 太康县
    "411628",  # 周口 鹿邑县
    "411681",  # 周口 项城市
    "411721",  # 驻马店 西平县
    "411722",  # 驻马店 上蔡县
    "410422",  # 平顶山 叶县
)

REASON_CHARS = "含非法字符 (invalid characters)"
REASON_LENGTH = "长度应为18位 (must be 18 characters)"
REASON_CHECK = "校验位错误 (bad check digit)"
REASON_DATE = "出生日期不存在 (impossible birth date)"
REASON_FUTURE = "出生日期在未来 (birth date in the future)"
REASON_TOO_OLD = "出生日期早于1900年 (birth date before 1900)"

WARN_UPGRADED = "15位旧号码已升级为18位 (15-digit legacy number upgraded)"
WARN_UNKNOWN_REGION = "地区代码未知 (unknown region code)"
WARN_RETIRED_REGION = "地区代码在出生前已撤销 (region code retired before birth)"

_EPOCH = dt.date(1970, 1, 1)
_MIN_BIRTH = dt.date(1900, 1, 1)
_WEIGHTS_NP = np.array(WEIGHTS, dtype=np.int64)
_CHECK_ASCII = np.frombuffer(CHECK_CHARS.encode("ascii"), dtype=np.uint8)


@dataclass(frozen=True)
class IdCheck:
    number: str  # normalised 18 characters, upper-case X
    birth_date: dt.date
    region_code: str
    sex: str  # 'M' or 'F'
    warnings: tuple[str, ...] = ()
    region_name: str = ""  # e.g. "河南省新郑市"; empty when the code is unknown


class InvalidIdNumber(ValueError):
    """Raised with a short bilingual `reason` an operator can read out."""

    def __init__(self, reason: str, number: str = "") -> None:
        super().__init__(f"{reason}: {number}" if number else reason)
        self.reason = reason
        self.number = number


def check_digit(first17: str) -> str:
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise InvalidIdNumber(REASON_CHARS, first17)
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=False))
    return CHECK_CHARS[total % 11]


def _normalise(raw: str) -> str:
    # NFKC folds full-width digits and "Ｘ" typed with a Chinese IME.
    text = unicodedata.normalize("NFKC", raw)
    return "".join(text.split()).upper()


def load_regions() -> None:
    """Read the region table now: the first ID checks of a busy server would otherwise all read
    and parse it at once, one copy per thread, and hold every early scan for a second or two."""
    numdb.get("cn/loc")


@lru_cache(maxsize=4096)
def _region(code: str) -> tuple[str, tuple[tuple[int | None, int | None], ...]]:
    """Return (display name, validity ranges) or ("", ()) when unknown."""
    info: dict[str, str] = {}
    for _part, props in numdb.get("cn/loc").info(code):
        info.update(props)
    county = info.get("county")
    if not county:
        return "", ()
    names: list[str] = []
    ranges: list[tuple[int | None, int | None]] = []
    for entry in county.split(","):
        if entry.startswith("[") and "]" in entry:
            span, name = entry[1:].split("]", 1)
            start, _, end = span.partition("-")
            ranges.append((int(start) if start else None, int(end) if end else None))
        else:
            name = entry
            ranges.append((None, None))
        names.append(name)
    return info.get("province", "") + names[-1], tuple(ranges)


def region_check(region_code: str, birth_year: int) -> tuple[str, str | None]:
    """The region's name (empty when unknown) and a warning, if any; never a rejection."""
    region_name, ranges = _region(region_code)
    if not region_name:
        return "", f"{WARN_UNKNOWN_REGION}: {region_code}"
    if all(end is not None and end < birth_year for _start, end in ranges):
        # A code that only *started* after the birth year is normal (cards are
        # re-issued under current codes); one that ended before it is not.
        return region_name, f"{WARN_RETIRED_REGION}: {region_code}"
    return region_name, None


def validate_id_number(raw: str, *, today: dt.date | None = None) -> IdCheck:
    number = _normalise(raw)
    if not number or any(c not in "0123456789X" for c in number):
        raise InvalidIdNumber(REASON_CHARS, raw)
    warnings: list[str] = []
    if len(number) == 15:
        if not number.isdigit():
            raise InvalidIdNumber(REASON_CHARS, raw)
        first17 = number[:6] + "19" + number[6:]
        number = first17 + check_digit(first17)
        warnings.append(WARN_UPGRADED)
    elif len(number) != 18:
        raise InvalidIdNumber(REASON_LENGTH, raw)
    elif not number[:17].isdigit():
        raise InvalidIdNumber(REASON_CHARS, raw)
    elif check_digit(number[:17]) != number[17]:
        raise InvalidIdNumber(REASON_CHECK, raw)

    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdNumber(REASON_DATE, raw) from None
    if birth > (today or dt.date.today()):
        raise InvalidIdNumber(REASON_FUTURE, raw)
    if birth < _MIN_BIRTH:
        raise InvalidIdNumber(REASON_TOO_OLD, raw)

    region_code = number[:6]
    region_name, warning = region_check(region_code, birth.year)
    if warning:
        warnings.append(warning)

    return IdCheck(
        number=number,
        birth_date=birth,
        region_code=region_code,
        sex="M" if int(number[16]) % 2 else "F",
        warnings=tuple(warnings),
        region_name=region_name,
    )


def mask_id_number(number: str) -> str:
    # strip() rather than removing inner spaces: this runs once per resident
    # when a million-person registry is loaded.
    text = number.strip()
    if len(text) == 18:
        return text[:6] + "*" * 8 + text[-4:]
    if len(text) <= 4:
        return "*" * len(text)
    return text[:2] + "*" * (len(text) - 4) + text[-2:]


def _date_digits(days: np.ndarray) -> np.ndarray:
    """(n, 8) uint8 YYYYMMDD digits for day numbers since 1970-01-01."""
    # Build a table over the (small) span of distinct days, then gather:
    # a million rows share at most a few tens of thousands of dates.
    lo = int(days.min())
    table = _date_table(np.arange(lo, int(days.max()) + 1, dtype=np.int64))
    return table[days - lo]


def _date_table(days: np.ndarray) -> np.ndarray:
    d64 = days.astype("datetime64[D]")
    months = d64.astype("datetime64[M]")
    year = months.astype(np.int64) // 12 + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d64 - months).astype(np.int64) + 1
    ymd = year * 10000 + month * 100 + day
    return (ymd[:, None] // 10 ** np.arange(7, -1, -1, dtype=np.int64) % 10).astype(np.uint8)


def _draw_sequence(rng: np.random.Generator, n: int, male: np.ndarray | None) -> np.ndarray:
    # The order code's parity is the sex (odd = male), and 000 is never issued.
    if male is None:
        return rng.integers(1, 1000, size=n)
    odd = 2 * rng.integers(0, 500, size=n) + 1  # 001..999
    even = 2 * rng.integers(1, 500, size=n)  # 002..998
    return np.where(male, odd, even)


def make_id_numbers(
    rng: np.random.Generator,
    n: int,
    region_codes: Sequence[str],
    birth_dates_days: np.ndarray,
    *,
    region_index: np.ndarray | None = None,
    region_weights: Sequence[float] | None = None,
    sexes: np.ndarray | None = None,
) -> list[str]:
    """Vectorised valid, mutually distinct 18-character numbers.

    `region_index` (per person, into `region_codes`) overrides the random
    choice, optionally weighted by `region_weights`; `sexes` ('M'/'F' per
    person) fixes the parity of the order code.
    """
    days = np.asarray(birth_dates_days, dtype=np.int64)
    if days.shape != (n,):
        raise ValueError(f"birth_dates_days must have shape ({n},), got {days.shape}")
    codes = [str(c) for c in region_codes]
    if not codes or any(len(c) != 6 or not c.isdigit() for c in codes):
        raise ValueError("region_codes must be non-empty 6-digit strings")
    if n == 0:
        return []
    if region_index is None:
        p = None
        if region_weights is not None:
            p = np.asarray(region_weights, dtype=np.float64)
            p = p / p.sum()
        region_index = rng.choice(len(codes), size=n, p=p)
    region_index = np.asarray(region_index, dtype=np.int64)
    male = None if sexes is None else np.asarray(sexes) == "M"

    region_digits = np.array([[int(c) for c in code] for code in codes], dtype=np.uint8)
    digits = np.empty((n, 18), dtype=np.uint8)
    digits[:, 0:6] = region_digits[region_index]
    digits[:, 6:14] = _date_digits(days)
    head = np.array([int(c) for c in codes], dtype=np.int64)[region_index] * 10**11
    head += digits[:, 6:14].astype(np.int64) @ (10 ** np.arange(10, 2, -1, dtype=np.int64))

    seq = _draw_sequence(rng, n, male)
    for _attempt in range(256):
        key = head + seq
        order = np.argsort(key, kind="stable")
        dup = order[1:][key[order[1:]] == key[order[:-1]]]
        if dup.size == 0:
            break
        seq[dup] = _draw_sequence(rng, dup.size, None if male is None else male[dup])
    else:
        raise ValueError("too many people share a region and birth date to stay unique")

    digits[:, 14] = seq // 100
    digits[:, 15] = seq // 10 % 10
    digits[:, 16] = seq % 10
    total = digits[:, :17].astype(np.int64) @ _WEIGHTS_NP
    ascii_ = digits + np.uint8(48)
    ascii_[:, 17] = _CHECK_ASCII[total % 11]
    blob = ascii_.tobytes().decode("ascii")
    return [blob[i : i + 18] for i in range(0, 18 * n, 18)]
