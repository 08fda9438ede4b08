"""The flagging rule (`lab.flag_value`, a pure function) at its edges: the last day of an age band and
the first day of the next, the ends of the reference range (normal) and one step beyond (L/H), the
critical limits (LL/HH) before any range, and a sex's own range before the range for anyone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from hms.models import LabFlag, Sex
from hms.services.lab import flag_value, pick_range

STEP = Decimal("0.01")


@dataclass(frozen=True)
class Band:
    sex: Sex | None
    age_from_days: int
    age_to_days: int | None
    low: Decimal | None
    high: Decimal | None


births = st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31))
edges = st.integers(min_value=1, max_value=40000)
values = st.decimals(min_value=Decimal("0.10"), max_value=Decimal("500.00"), places=2)
sexes = st.sampled_from([Sex.female, Sex.male])


@given(born=births, edge=edges)
def test_the_day_a_band_ends_the_next_band_applies(born, edge):
    child = Band(None, 0, edge, Decimal("10"), Decimal("20"))
    adult = Band(None, edge, None, Decimal("30"), Decimal("40"))
    value = Decimal("25")  # high for the child, low for the adult
    last_day_of_child = born + timedelta(days=edge - 1)
    first_day_of_adult = born + timedelta(days=edge)
    flag = {
        day: flag_value(value, sex=Sex.female, date_of_birth=born, on=day, ranges=[adult, child])
        for day in (last_day_of_child, first_day_of_adult)
    }
    assert flag == {last_day_of_child: LabFlag.high, first_day_of_adult: LabFlag.low}


@given(born=births, low=values, width=values, sex=sexes)
def test_the_ends_of_the_range_are_normal_and_one_step_beyond_is_flagged(born, low, width, sex):
    high = low + width
    band = [Band(None, 0, None, low, high)]
    on = born + timedelta(days=365 * 30)

    def flag(value: Decimal) -> LabFlag | None:
        return flag_value(value, sex=sex, date_of_birth=born, on=on, ranges=band)

    assert flag(low) is None and flag(high) is None
    assert flag(low - STEP) == LabFlag.low
    assert flag(high + STEP) == LabFlag.high


@given(born=births, value=values, low=values, width=values)
def test_critical_limits_come_before_any_range_and_their_ends_are_not_critical(born, value, low, width):
    high = low + width
    band = [Band(None, 0, None, Decimal("0"), Decimal("1000"))]  # everything is in range
    on = born + timedelta(days=10000)
    got = flag_value(
        value, sex=Sex.male, date_of_birth=born, on=on, ranges=band, critical_low=low, critical_high=high
    )
    expected = LabFlag.critical_low if value < low else LabFlag.critical_high if value > high else None
    assert got == expected


@given(born=births, value=values, sex=sexes)
def test_a_sexs_own_range_comes_before_the_range_for_anyone(born, value, sex):
    other = Sex.male if sex == Sex.female else Sex.female
    own = Band(sex, 0, None, value, value)  # exactly this value is normal for the patient's sex
    for_anyone = Band(None, 0, None, value + 1, value + 2)
    for_the_other_sex = Band(other, 0, None, value + 1, value + 2)
    on = born + timedelta(days=7000)
    ranges = [for_anyone, for_the_other_sex, own]
    assert pick_range(ranges, sex, 7000) is own
    assert flag_value(value, sex=sex, date_of_birth=born, on=on, ranges=ranges) is None
    # Without his own range, the range for anyone applies (never the other sex's).
    assert flag_value(value, sex=sex, date_of_birth=born, on=on, ranges=[for_the_other_sex, for_anyone]) == (
        LabFlag.low
    )


@given(born=births, value=values, sex=st.sampled_from(list(Sex)))
def test_without_a_range_only_the_critical_limits_flag(born, value, sex):
    on = born + timedelta(days=100)
    assert flag_value(value, sex=sex, date_of_birth=born, on=on, ranges=[]) is None
    ranges_for_a_sex_only = [Band(Sex.female if sex != Sex.female else Sex.male, 0, None, value + 1, None)]
    assert flag_value(value, sex=sex, date_of_birth=born, on=on, ranges=ranges_for_a_sex_only) is None
    assert (
        flag_value(value, sex=sex, date_of_birth=born, on=on, ranges=[], critical_low=value + STEP)
        == LabFlag.critical_low
    )


def test_an_open_ended_range_flags_one_side_only():
    born, on = date(1980, 5, 1), date(2026, 3, 2)
    hdl = [Band(Sex.male, 0, None, Decimal("40"), None)]
    assert flag_value(Decimal("39"), sex=Sex.male, date_of_birth=born, on=on, ranges=hdl) == LabFlag.low
    assert flag_value(Decimal("95"), sex=Sex.male, date_of_birth=born, on=on, ranges=hdl) is None
