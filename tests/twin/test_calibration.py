"""Calibration recovers the known parameters of a simulated plant within its intervals.
The tag stream comes from the real PLC runtime's tag table, scanned as fast as possible
(no OPC UA: the estimators are what is tested here; the mirror has its own tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from plc_sim.model.spec import load_plant
from plc_sim.plc.runtime import PlcRuntime
from twin_core.calibration import Calibrator, estimated_spec
from twin_core.state import Observed

EPOCH = datetime(2026, 1, 5, tzinfo=UTC)


def _run(spec, hours: float, seed: int = 4) -> tuple[PlcRuntime, Calibrator]:
    plc = PlcRuntime(spec, seed=seed, time_factor=None, fast_step_h=0.05)
    cal = Calibrator(spec)
    t = 0.0
    while t < hours:
        t += 0.05
        for tag in plc.scan(t):
            stamp = EPOCH + timedelta(hours=plc.calendar_h)
            cal.on_value(tag.key, Observed(tag.value, 0, stamp, stamp, 0.0))
    return plc, cal


@pytest.fixture(scope="module")
def gear_run():
    spec = load_plant("gear_line")
    plc, cal = _run(spec, 4000.0)
    return spec, plc, cal, cal.estimates()


def test_times_between_failures_and_repairs_are_recovered(gear_run):
    spec, _plc, _cal, est = gear_run
    checks = []
    for m in spec.all_machines():
        f = spec.machine_failures(m)
        ttf, rep = est.time_to_failure_h[m.name], est.repair_h[m.name]
        assert ttf.n > 50 and rep.n > 50
        checks += [(f"ttf {m.name}", ttf, f.time_to_failure.mean), (f"repair {m.name}", rep, f.repair.mean)]
    _assert_covered(checks)


def test_processing_times_per_station_are_recovered(gear_run):
    spec, plc, _cal, est = gear_run
    m = plc.model
    share = [d / sum(m.delivered) for d in m.delivered]
    checks = []
    for s, st in enumerate(spec.stations):
        truth = sum(w * spec.processing_hours(p, s).mean for w, p in zip(share, spec.product_names, strict=True))
        e = est.processing_h[st.name]
        assert e.n > 1000
        checks.append((f"processing {st.name}", e, truth))
    _assert_covered(checks)


def test_scrap_returns_and_demand_are_recovered(gear_run):
    spec, _plc, _cal, est = gear_run
    demand = sum(1.0 / spec.demand[p].interarrival.mean for p in spec.product_names)
    checks = [("demand", est.demand_per_h, demand)]
    for mach in spec.all_machines():
        checks.append((f"scrap {mach.name}", est.scrap[mach.name], spec.quality.defect_prob))
    _assert_covered(checks)
    assert est.returns is not None and est.returns.n > 500
    assert est.returns.low < spec.quality.return_prob.mean * 1.3 and est.returns.high > spec.quality.return_prob.mean


def test_estimated_spec_carries_the_estimates(gear_run):
    spec, _plc, _cal, est = gear_run
    new = estimated_spec(spec, est)
    for m in new.all_machines():
        assert new.machine_failures(m).repair.mean == pytest.approx(est.repair_h[m.name].mean)
    assert sum(1 / new.demand[p].interarrival.mean for p in new.product_names) == pytest.approx(est.demand_per_h.mean)


def _assert_covered(checks: list) -> None:
    """Each 95 % interval should cover its true value; with several intervals one may miss by
    chance, so at least 90 % must cover and none may miss by more than its own width."""
    missed = [(name, e.low, e.high, truth) for name, e, truth in checks if not e.covers(truth)]
    print("\n".join(f"{n}: {e.mean:.4g} [{e.low:.4g}, {e.high:.4g}] n={e.n} truth {t:.4g}" for n, e, t in checks))
    assert len(missed) <= len(checks) // 10, missed
    for name, low, high, truth in missed:
        assert low - (high - low) <= truth <= high + (high - low), name


def test_time_up_since_the_last_repair_is_known(gear_run):
    spec, _plc, cal, _est = gear_run
    up = cal.up_hours()
    assert up and all(h >= 0 for h in up.values())
    assert set(up) <= {m.name for m in spec.all_machines()}


@pytest.mark.asyncio
async def test_calibration_fed_by_the_mirror_over_opc_ua(tmp_path):
    """The wiring: mirrored notifications (plant-time source stamps, KPIs/PlantTime) reach the
    estimators, and the processing-time estimate lands near the plant file's value."""
    from tests.support.opcua_harness import running_plant, until
    from tests.twin.conftest import twin_settings
    from twin_core.twin import Twin

    async with running_plant(tmp_path / "plc") as (_plc, srv):
        twin = Twin(twin_settings(srv.url, tmp_path / "twin"))
        cal = Calibrator(twin.spec)
        twin.mirror.listeners.append(cal.on_value)
        async with twin:
            await until(lambda: cal.estimates().processing_h.get("MP2", None) is not None
                        and cal.estimates().processing_h["MP2"].n >= 30, timeout=60, what="30 jobs of MP2 seen")
            e = cal.estimates().processing_h["MP2"]
    spec = twin.spec
    truth = [spec.processing_hours(p, 1).mean for p in spec.product_names]
    assert min(truth) * 0.8 < e.mean < max(truth) * 1.2
    assert cal.epoch is not None
