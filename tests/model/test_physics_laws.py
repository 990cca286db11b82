"""The machine physics laws on their own: plain functions of a machine's sections."""

import math

import pytest

from plc_sim.model import physics
from plc_sim.model.spec import Condition, Power, Speed, Wear
from plc_sim.model.vocab import MachineState

POWER = Power(processing=10.0, processing_base=4.0, idle=2.0, standby=0.5, wakeup=6.0, off=0.1)
SPEED = Speed(setpoint_pct=100.0, min_pct=50.0, max_pct=150.0, power_exp=2.0, wear_exp=3.0)


def test_processing_power_is_a_fixed_base_plus_a_cut_that_scales_with_speed():
    assert physics.draw_kw(POWER, SPEED, 1.0, MachineState.PROCESSING) == pytest.approx(10.0)
    assert physics.draw_kw(POWER, SPEED, 0.5, MachineState.PROCESSING) == pytest.approx(4.0 + 6.0 * 0.25)
    assert physics.draw_kw(POWER, None, 0.5, MachineState.PROCESSING) == 10.0


def test_other_states_draw_their_own_power():
    assert physics.draw_kw(POWER, SPEED, 1.3, MachineState.WAKING) == 6.0
    assert physics.draw_kw(POWER, SPEED, 1.3, MachineState.STANDBY) == 0.5
    assert physics.draw_kw(POWER, SPEED, 1.3, MachineState.OFF) == 0.1


def test_energy_per_part_is_lowest_at_an_interior_speed():
    per_part = {v: physics.draw_kw(POWER, SPEED, v, MachineState.PROCESSING) / v for v in (0.5, 0.8, 1.5)}
    assert per_part[0.8] < per_part[0.5] and per_part[0.8] < per_part[1.5]


def test_wear_rate_follows_the_speed_law():
    wear = Wear(per_h=0.01, weibull_scale=1.0)
    assert physics.wear_rate(wear, SPEED, 2.0) == pytest.approx(0.08)
    assert physics.wear_rate(wear, None, 2.0) == pytest.approx(0.02)


def test_failure_wear_never_lies_below_the_wear_survived():
    wear = Wear(per_h=0.01, weibull_shape=2.0, weibull_scale=1.0)
    assert physics.failure_wear(wear, 0.0, 1.0) == pytest.approx(1.0)
    assert physics.failure_wear(wear, 0.7, 0.0) == pytest.approx(0.7)
    assert physics.failure_wear(wear, 0.7, 0.3) > 0.7


def test_temperature_lags_towards_its_target():
    c = Condition(temp_ambient_c=20.0, temp_rise_c_per_kw=2.0, temp_tau_h=0.5)
    assert physics.temperature(c, 5.0, 20.0, 0.0) == 20.0
    assert physics.temperature(c, 5.0, 20.0, 0.5) == pytest.approx(30.0 - 10.0 * math.exp(-1.0))
    assert physics.temperature(c, 5.0, 20.0, 1e6) == pytest.approx(30.0)


def test_vibration_grows_with_wear_and_a_noisy_reading_never_goes_negative():
    c = Condition(vibration_base=1.0, vibration_per_wear=4.0, vibration_noise=2.0)
    assert physics.vibration(c, 0.5) == pytest.approx(3.0)
    assert physics.vibration(c, 0.5, 0.5) == pytest.approx(4.0)
    assert physics.vibration(c, 0.0, -5.0) == 0.0
