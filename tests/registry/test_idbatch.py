"""The column-at-a-time ID check agrees with the one-at-a-time validator, reason for reason."""

from __future__ import annotations

import datetime as dt

import numpy as np

from sweep.registry.idbatch import validate_id_column
from sweep.registry.idnumber import HENAN_REGION_CODES, InvalidIdNumber, check_digit, make_id_numbers, validate_id_number

TODAY = dt.date(2026, 12, 1)


def _spoil(rng: np.random.Generator, number: str, k: int) -> str:
    if k == 0:
        return number[:17] + ("0" if number[17] != "0" else "1")
    if k == 1:
        body = number[:10] + "0229" + number[14:17]  # 29 February: valid only in leap years
        return body + check_digit(body)
    if k == 2:
        return number[:15]
    if k == 3:
        return " " + number.lower().replace("x", "x") + " "
    if k == 4:
        body = number[:6] + "2031" + number[10:17]
        return body + check_digit(body)
    if k == 5:
        return "１" + number[1:]  # a full-width digit from a Chinese IME
    if k == 6:
        body = number[:6] + "1899" + number[10:17]
        return body + check_digit(body)
    if k == 7:
        return number[:8] + "A" + number[9:]
    if k == 8:
        return number[:6] + number[8:17]  # a 15-digit legacy number
    return ""


def test_agrees_with_validate_id_number():
    rng = np.random.default_rng(5)
    n = 4000
    numbers = make_id_numbers(rng, n, HENAN_REGION_CODES, rng.integers(-25000, 19000, n))
    raw = [_spoil(rng, s, i % 12) if i % 12 < 10 else s for i, s in enumerate(numbers)]
    col = validate_id_column(raw, today=TODAY)
    checked = 0
    for i, text in enumerate(raw):
        try:
            c = validate_id_number(text, today=TODAY)
        except InvalidIdNumber as exc:
            want = (None, exc.reason, None, 0)
        else:
            want = (c.number, None, c.sex, c.birth_date.year * 10000 + c.birth_date.month * 100 + c.birth_date.day)
        got = (col.number[i], col.reason[i] if col.number[i] is None else None, col.sex[i], int(col.birth_ymd[i]))
        if not text.strip():  # blank: "missing" here, where the scalar check says "invalid characters"
            continue
        assert got[:3] == want[:3] and (want[1] is not None or got[3] == want[3]), (i, text)
        checked += 1
    assert checked > 3000
    assert sum(r is not None for r in col.reason) > 1000  # the spoiled ones were refused


def test_an_empty_cell_is_a_missing_number():
    col = validate_id_column(["", "  "], today=TODAY)
    assert col.number == [None, None] and all("missing" in r for r in col.reason)
