"""Safety properties of the simulated board under any command sequence and timing (hypothesis).

Whatever the host sends and whatever happens to the load, after every physics step:
- the true output current never rises faster than the slew limit (in true units:
  slew / (cal gain x k_hw), the board slews its *reported* current);
- the measured current never stays above the overcurrent threshold longer than
  the ICD's 2 ms window (the board cuts it);
- with the output disabled no current flows.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ionto_console.drivers.board.messages import (
    ClearFault, Heartbeat, Output, SetLimits, SetRate, SetTarget, SetWaveform, Stop, WriteCal,
)
from ionto_sim.board import ABSOLUTE_OVERCURRENT_UA
from ionto_sim.model import ResistorLoad, SkinElectrodeLoad

from sim_harness import Bench

commands = st.one_of(
    st.builds(SetTarget, st.integers(0, 26_000)),
    st.builds(Output, st.sampled_from([0, 1, 1, 1])),
    st.builds(Stop, st.integers(0, 5_500)),
    st.builds(SetLimits, st.integers(0, 26_000), st.integers(5, 5_500), st.integers(90, 2_100)),
    st.builds(SetRate, st.integers(5, 1_100)),
    st.builds(SetWaveform, st.integers(0, 1), st.integers(1, 20_000), st.integers(10, 90)),
    st.builds(WriteCal, st.floats(0.9, 1.1), st.floats(-40.0, 40.0), st.integers(0, 2**32 - 1)),
    st.just(ClearFault()),
    st.just(Heartbeat()),
)
conditions = st.sampled_from(["lift_electrode", "restore_electrode", "short_electrodes", "clear_short",
                              "resistor", "skin", "tray", "press", "release"])
actions = st.lists(
    st.tuples(st.one_of(commands, conditions), st.floats(0.0, 0.4), st.booleans()),
    min_size=1, max_size=14)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=actions, ohms=st.floats(200.0, 80_000.0))
def test_output_never_rises_faster_than_slew_nor_stays_above_the_fault_threshold(actions, ohms):
    bench = Bench(load=SkinElectrodeLoad())
    k_hw = bench.model.front_end.k_hw
    state = {"prev": None, "over_s": 0.0}
    violations: list[str] = []

    def check(t, out, board) -> None:
        prev = state["prev"]
        threshold = min(board.max_current_ua * 1.1, ABSOLUTE_OVERCURRENT_UA)
        if not out.enabled and out.true_ua != 0.0:
            violations.append(f"{t:.4f}: {out.true_ua} µA with the output disabled")
        if prev is not None and t > prev[0]:
            dt = t - prev[0]
            allowed = board.slew_ua_s * dt / (board.nvram.cal_gain * k_hw) + 1e-6
            if out.true_ua - prev[1] > allowed:
                violations.append(f"{t:.4f}: rose {out.true_ua - prev[1]:.3f} µA in {dt * 1e3:.3f} ms")
            state["over_s"] = state["over_s"] + dt if out.enabled and out.reported_ua > threshold else 0.0
            if state["over_s"] > 0.002 + 1e-9:
                violations.append(f"{t:.4f}: above {threshold} µA for {state['over_s'] * 1e3:.2f} ms")
        state["prev"] = (t, out.true_ua)

    bench.board.step_observer = check
    for action, dt, heartbeats in actions:
        if isinstance(action, str):
            apply_condition(bench, action, ohms)
        else:
            bench.seq = (bench.seq + 1) & 0xFF
            bench.board.receive(action.frame(bench.seq), bench.t)
        bench.run(dt, heartbeat_s=0.05 if heartbeats else None)
        assert not violations, violations[:3]


def apply_condition(bench: Bench, name: str, ohms: float) -> None:
    model, board = bench.model, bench.board
    if name == "resistor":
        model.set_load(ResistorLoad(ohms))
    elif name == "skin":
        model.set_load(SkinElectrodeLoad())
    elif name == "tray":
        model.set_load(SkinElectrodeLoad.tap_water_tray())
    elif name == "press":
        board.press_hw_stop(bench.t)
    elif name == "release":
        board.release_hw_stop(bench.t)
    else:
        getattr(model, name)()
