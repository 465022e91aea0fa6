import datetime as dt

import numpy as np
import pytest
from stdnum.cn import ric

from sweep.registry.idnumber import (
    HENAN_REGION_CODES,
    WEIGHTS,
    ZHENGZHOU_REGION_CODES,
    IdCheck,
    InvalidIdNumber,
    check_digit,
    make_id_numbers,
    mask_id_number,
    validate_id_number,
)

KNOWN = "11010519491231002X"  # the standard's own worked example


def _with_check(first17: str) -> str:
    return first17 + check_digit(first17)


def test_known_valid_number():
    result = validate_id_number(KNOWN)
    assert result == IdCheck(
        number=KNOWN,
        birth_date=dt.date(1949, 12, 31),
        region_code="110105",
        sex="F",
        warnings=(),
        region_name="北京市朝阳区",
    )


def test_spaces_lower_case_x_and_full_width_are_normalised():
    assert validate_id_number(" 110105 19491231 002x ").number == KNOWN
    assert validate_id_number("１１０１０５１９４９１２３１００２Ｘ").number == KNOWN


def test_check_digit_agrees_with_stdnum():
    assert len(WEIGHTS) == 17
    rng = np.random.default_rng(3)
    for _ in range(500):
        first17 = "".join(map(str, rng.integers(0, 10, 17)))
        assert check_digit(first17) == ric.calc_check_digit(first17 + "0")


def test_male_from_odd_sequence():
    number = _with_check("41018419900101001")
    assert validate_id_number(number).sex == "M"


def test_bad_check_digit_is_rejected_with_reason():
    with pytest.raises(InvalidIdNumber) as info:
        validate_id_number(KNOWN[:-1] + "1")
    assert info.value.reason.startswith("校验位错误")
    assert isinstance(info.value, ValueError)


def test_impossible_birth_date_is_rejected():
    with pytest.raises(InvalidIdNumber) as info:
        validate_id_number(_with_check("41018419900230001"))
    assert info.value.reason.startswith("出生日期不存在")


def test_future_and_too_old_birth_dates_are_rejected():
    with pytest.raises(InvalidIdNumber) as info:
        validate_id_number(_with_check("41018420220902001"), today=dt.date(2022, 9, 1))
    assert "未来" in info.value.reason
    assert validate_id_number(_with_check("41018420220901001"), today=dt.date(2022, 9, 1))
    with pytest.raises(InvalidIdNumber) as info:
        validate_id_number(_with_check("41018418991231001"))
    assert "1900" in info.value.reason


@pytest.mark.parametrize(
    ("raw", "start"),
    [("12345", "长度应为18位"), ("1101051949123100", "长度应为18位"), ("1101051949123A002X", "含非法字符"),
     ("11010519491231X021", "含非法字符"), ("11010549123100X", "含非法字符"), ("", "含非法字符")],
)
def test_malformed_numbers_are_rejected(raw, start):
    with pytest.raises(InvalidIdNumber) as info:
        validate_id_number(raw)
    assert info.value.reason.startswith(start)


def test_fifteen_digit_number_is_upgraded():
    result = validate_id_number("110105491231002")
    assert result.number == KNOWN
    assert result.birth_date == dt.date(1949, 12, 31)
    assert any("15" in w for w in result.warnings)


def test_unknown_region_is_a_warning_not_a_rejection():
    # 410173 is the airport zone's own code, missing from stdnum's table.
    result = validate_id_number(_with_check("41017319900101002"))
    assert result.region_code == "410173"
    assert result.region_name == ""
    assert len(result.warnings) == 1 and "410173" in result.warnings[0]
    assert validate_id_number(_with_check("99999919900101002")).warnings


def test_region_known_and_late_introduced_code_is_fine():
    # 新郑市 got its code in 1994; older residents were re-issued under it.
    number = _with_check("41018419500101002")
    assert not ric.is_valid(number)  # stdnum insists the code existed in the birth year
    result = validate_id_number(number)
    assert result.warnings == ()
    assert result.region_name == "河南省新郑市"


def test_regions_all_known_to_stdnum():
    assert set(ZHENGZHOU_REGION_CODES) <= set(HENAN_REGION_CODES)
    assert HENAN_REGION_CODES[:2] == ("410184", "410122")
    for code in HENAN_REGION_CODES:
        assert validate_id_number(_with_check(code + "20000101002")).warnings == ()


def test_masking():
    assert mask_id_number("410184199001011234") == "410184********1234"
    assert mask_id_number("E12345678") == "E1*****78"
    assert mask_id_number("123") == "***"
    assert len(mask_id_number("110105491231002")) == 15


def test_make_id_numbers_valid_unique_and_faithful():
    rng = np.random.default_rng(11)
    n = 20_000
    days = rng.integers(-25_000, 19_000, n)
    sexes = np.where(rng.random(n) < 0.5, "M", "F")
    numbers = make_id_numbers(rng, n, HENAN_REGION_CODES, days, sexes=sexes)
    assert len(numbers) == n and len(set(numbers)) == n
    epoch = dt.date(1970, 1, 1)
    for i in range(0, n, 7):
        result = validate_id_number(numbers[i])
        assert result.number == numbers[i]
        assert result.warnings == ()
        assert result.birth_date == epoch + dt.timedelta(days=int(days[i]))
        assert result.sex == sexes[i]
        assert result.number[14:17] != "000"


def test_make_id_numbers_resamples_collisions():
    # 600 people, one region, one birthday, 999 order codes: collisions are certain.
    rng = np.random.default_rng(5)
    numbers = make_id_numbers(rng, 600, ["410184"], np.full(600, 7000))
    assert len(set(numbers)) == 600
    assert all(validate_id_number(x).warnings == () for x in numbers)
    women = make_id_numbers(rng, 400, ["410184"], np.full(400, 7000), sexes=np.full(400, "F"))
    assert len(set(women)) == 400 and all(int(x[16]) % 2 == 0 for x in women)
    with pytest.raises(ValueError):  # only 499 even order codes exist
        make_id_numbers(rng, 500, ["410184"], np.full(500, 7000), sexes=np.full(500, "F"))


def test_make_id_numbers_region_index_and_determinism():
    days = np.arange(100)
    a = make_id_numbers(np.random.default_rng(1), 100, ["410184", "410122"], days, region_index=np.arange(100) % 2)
    b = make_id_numbers(np.random.default_rng(1), 100, ["410184", "410122"], days, region_index=np.arange(100) % 2)
    assert a == b
    assert [x[:6] for x in a[:4]] == ["410184", "410122", "410184", "410122"]
    assert make_id_numbers(np.random.default_rng(1), 0, ["410184"], np.zeros(0)) == []
    with pytest.raises(ValueError):
        make_id_numbers(np.random.default_rng(1), 5, ["4101"], np.zeros(5))


def test_a_million_numbers_are_unique():
    # How fast is measured by bench/generate.py, not here.
    rng = np.random.default_rng(2)
    days = rng.integers(-25_000, 19_000, 1_000_000)
    numbers = make_id_numbers(rng, 1_000_000, HENAN_REGION_CODES, days)
    assert len(set(numbers)) == 1_000_000
