"""Machine physics as plain functions of a machine's sections and state: power, wear, the
wear at failure, spindle temperature and vibration. No clock, no process, no randomness of
their own (a draw comes in as an argument), so each law is read and tested on its own and a
machine's process only decides when to apply them.
"""

from __future__ import annotations

import math

from .spec import Condition, Power, Speed, Wear
from .vocab import MachineState

_POWER_FIELD = {MachineState.WAKING: "wakeup"}


def draw_kw(power: Power, speed: Speed | None, v: float, state: MachineState) -> float:
    """Power in kW in `state` at relative cutting speed `v`. Processing draws a base load
    that does not depend on the cutting speed (spindle cooling, hydraulics, coolant,
    controls: Gutowski et al. 2006's constant P0) plus the cutting part, which scales as
    v^power_exp; so the energy of one part, (base + cut v^e) / v, is lowest at an interior
    speed, not the slowest."""
    if state == MachineState.PROCESSING:
        if speed is None:
            return power.processing
        base = power.processing_base
        return float(base + (power.processing - base) * v ** speed.power_exp)
    return float(getattr(power, _POWER_FIELD.get(state, state.value)))


def wear_rate(wear: Wear, speed: Speed | None, v: float) -> float:
    """Wear per processing hour at relative speed `v`."""
    return float(wear.per_h * v ** (speed.wear_exp if speed else 1.0))


def failure_wear(wear: Wear, survived: float, std_exponential: float) -> float:
    """Wear at the next failure, Weibull in wear, given survival up to `survived`
    (`std_exponential` is a standard exponential draw)."""
    b, eta = wear.weibull_shape, wear.weibull_scale
    return float(eta * ((survived / eta) ** b + std_exponential) ** (1.0 / b))


def temperature(cond: Condition, p_kw: float, temp0: float, dt_h: float) -> float:
    """Spindle temperature `dt_h` hours after it was `temp0`, drawing `p_kw` since: a
    first-order lag towards ambient plus a rise per kW."""
    target = cond.temp_ambient_c + cond.temp_rise_c_per_kw * p_kw
    return target + (temp0 - target) * math.exp(-dt_h / cond.temp_tau_h)


def vibration(cond: Condition, wear: float, noise: float | None = None) -> float:
    """Vibration velocity at `wear`; with `noise` (a standard normal draw) as a sensor reads it."""
    v = cond.vibration_base + cond.vibration_per_wear * wear
    return max(v + cond.vibration_noise * noise, 0.0) if noise is not None else v
