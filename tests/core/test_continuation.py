"""The continuation rule (core.continuation) as properties: a continued run never gives more than the
prescription's rest, and only the endings a clinic would continue are offered (issue 14)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ionto_console.core.continuation import (CONTINUABLE_TRIPS, MIN_REMAINING_MA_MIN, continuation_after,
                                             delivered_before, may_continue, recorded_cut)
from ionto_console.core.interlocks import TripKind
from ionto_console.core.session import SessionState

TRIPS = st.one_of(st.none(), st.sampled_from([kind.value for kind in TripKind]))
DOSE = st.floats(min_value=0.0, max_value=1000.0, allow_nan=False)


@given(st.sampled_from(list(SessionState)), TRIPS, DOSE, st.floats(min_value=0.1, max_value=1000.0), st.booleans())
def test_an_offer_is_the_rest_of_the_prescription_and_only_for_a_continuable_ending(state, trip, delivered, target,
                                                                                  final):
    offer = continuation_after(state, 7, "P-1", "dex", delivered, target, final, trip=trip)
    if offer is None:
        return
    assert final and may_continue(state, trip)
    assert state in (SessionState.FAULTED, SessionState.INTERRUPTED)
    assert trip in CONTINUABLE_TRIPS or (state is SessionState.INTERRUPTED and trip is None)
    assert MIN_REMAINING_MA_MIN <= offer.remaining_ma_min == target - delivered
    assert offer.delivered_ma_min + offer.remaining_ma_min <= target + 1e-9


@given(st.floats(min_value=0.1, max_value=1000.0), DOSE)
def test_the_readout_never_counts_more_before_than_the_prescription(target, run_target):
    before = delivered_before(target, run_target)
    assert 0.0 <= before <= target
    assert delivered_before(target, None) == 0.0


def test_skin_and_device_faults_and_stops_are_not_continued():
    for kind in ("impedance_falling", "impedance_low", "overcurrent", "current_deviation", "board_fault",
                 "polarity", "board_clock", "output_lost", "dose_cap", "density"):
        assert not may_continue(SessionState.FAULTED, kind), kind
    assert not may_continue(SessionState.STOPPED, None) and not may_continue(SessionState.COMPLETE, None)


def test_the_cut_is_the_last_trip_that_cut():
    events = [("state", {}), ("trip:density_warning", {"action": "WARN"}), ("trip:compliance", {"action": "CUT"}),
              ("trip:lost_samples", {"action": "STOP_RAMP"})]
    assert recorded_cut(events) == "compliance"
    assert recorded_cut([("stop", {})]) is None
