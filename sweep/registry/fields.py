"""Cell parsers for the import: each returns the value, or raises ``BadCell`` with a plain reason.

Blank cells are not errors here: the caller decides what a blank means for each field.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

# 11-digit mainland mobile numbers, or a landline with its area code (0371-12345678, ext. allowed).
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}(-\d{1,6})?")
_PHONE_NOISE = re.compile(r"[\s()（）]")
_CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九十")}
_YES = {"是", "需要", "需", "要", "y", "yes", "true", "1", "√", "✓"}
_NO = {"否", "不需要", "不", "无", "n", "no", "false", "0", ""}
DOC_TYPES = {
    "身份证": "id_card", "居民身份证": "id_card", "二代身份证": "id_card", "id_card": "id_card", "id": "id_card",
    "护照": "passport", "passport": "passport",
    "港澳居民来往内地通行证": "hk_macau", "港澳通行证": "hk_macau", "回乡证": "hk_macau", "hk_macau": "hk_macau",
    "台湾居民来往大陆通行证": "taiwan", "台胞证": "taiwan", "taiwan": "taiwan",
    "其他": "other", "其它": "other", "other": "other",
}
_HK_MACAU = re.compile(r"[HM]\d{8}(\d{2})?")
_OTHER_DOC = re.compile(r"[A-Z0-9][A-Z0-9-]{3,31}")

PHONE_REASON = "手机号格式不对：应为1开头的11位手机号或带区号的固话 (phone malformed: 11 digits starting with 1, or a landline such as 0371-12345678)"


class BadCell(ValueError):
    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field  # when the fault lies in another column than the one parsed


def fold(text: str) -> str:
    """Full-width digits and letters typed with a Chinese IME become plain ones."""
    return unicodedata.normalize("NFKC", text).strip()


_ALL_MOBILES = re.compile(r"(?:(?:1[3-9]\d{9})?\n)*")


def all_mobiles(cells: list[str]) -> bool:
    """True when every cell is a plain mobile number or blank: one regex over the column, not one a row."""
    return _ALL_MOBILES.fullmatch("\n".join(cells) + "\n") is not None


def parse_phone(text: str) -> str | None:
    if not text:
        return None
    if _MOBILE.fullmatch(text):
        return text
    phone = _PHONE_NOISE.sub("", fold(text))
    for prefix in ("+86", "0086"):
        if phone.startswith(prefix):
            phone = phone[len(prefix):].lstrip("-")
    if _MOBILE.fullmatch(phone) or _LANDLINE.fullmatch(phone):
        return phone
    compact = phone.replace("-", "")
    if _MOBILE.fullmatch(compact):
        return compact
    raise BadCell(PHONE_REASON, field="phone")


def parse_int(text: str, *, what: str, what_en: str, suffix: str = "", field: str | None = None) -> int | None:
    """'3', '3单元', '三单元' → 3."""
    if not text:
        return None
    value = fold(text)
    if suffix and value.endswith(suffix):
        value = value[: -len(suffix)]
    if value.isdigit():
        return int(value)
    if value and all(c in _CN_DIGITS for c in value) and len(value) <= 2:
        if value == "十":
            return 10
        if len(value) == 2 and value[0] == "十":
            return 10 + _CN_DIGITS[value[1]]
        if len(value) == 1:
            return _CN_DIGITS[value]
    raise BadCell(f"{what}应为数字 ({what_en} must be a number): {text}", field=field)


def parse_float(text: str, *, what: str, what_en: str, field: str | None = None) -> float:
    try:
        return float(fold(text).replace(",", ""))
    except ValueError:
        raise BadCell(f"{what}应为数字 ({what_en} must be a number): {text}", field=field) from None


def parse_yes_no(text: str, *, what: str, what_en: str) -> bool:
    value = fold(text).lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise BadCell(f"{what}应填“是”或“否” ({what_en} must be yes or no): {text}")


def parse_sex(text: str) -> str | None:
    value = fold(text).lower()
    if not value:
        return None
    if value in ("男", "m", "male"):
        return "M"
    if value in ("女", "f", "female"):
        return "F"
    raise BadCell(f"性别应为“男”或“女” (sex must be male or female): {text}")


def parse_date(text: str) -> dt.date | None:
    if not text:
        return None
    value = fold(text).replace("年", "-").replace("月", "-").replace("日", "").replace("/", "-").replace(".", "-")
    value = value.split(" ")[0]
    try:
        if re.fullmatch(r"\d{8}", value):
            return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
        y, m, d = (int(p) for p in value.split("-"))
        return dt.date(y, m, d)
    except ValueError:
        raise BadCell(f"日期不存在或格式不对，应如 1990-01-31 (impossible or malformed date, e.g. 1990-01-31): {text}") from None


def parse_doc_type(text: str) -> str | None:
    if not text:
        return None
    key = fold(text).lower().replace(" ", "")
    if key in DOC_TYPES:
        return DOC_TYPES[key]
    raise BadCell(f"未知的证件类型 (unknown document type): {text}; 可用 身份证、护照、港澳通行证、台胞证、其他")


def guess_doc_type(number: str) -> str:
    """Without a document-type column: letters (other than a final X) mean it is not an ID card.

    Digits alone always go through the ID-card checks, so a mistyped ID number is never waved
    through as some other document.
    """
    value = fold(number).upper().replace(" ", "")
    body = value[:-1] if value.endswith("X") else value
    if body.isdigit() or not value:
        return "id_card"
    return "hk_macau" if _HK_MACAU.fullmatch(value) else "passport"


def parse_other_document(text: str) -> str:
    value = fold(text).upper().replace(" ", "")
    if not value:
        raise BadCell("缺少证件号码 (document number missing)")
    if not _OTHER_DOC.fullmatch(value):
        raise BadCell(f"证件号码应为4至32位字母或数字 (document number must be 4-32 letters or digits): {text}")
    return value


__all__ = [
    "DOC_TYPES", "PHONE_REASON", "BadCell", "all_mobiles", "fold", "guess_doc_type", "parse_date", "parse_doc_type", "parse_float",
    "parse_int", "parse_other_document", "parse_phone", "parse_sex", "parse_yes_no",
]
