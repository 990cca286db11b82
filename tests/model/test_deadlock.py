"""No deadlock: under every control model and card counts the card rules allow, parts keep
flowing. Issue 8's case: BSOP with K1 = K2 = 2 and C = 10 used to stop for good (stage-1
kanbans held by A parts in buffer 1, stage-2 kanbans held by B tokens waiting for B parts)
in 18 of 20 runs of scenario 21 and 20 of 20 of scenario 15."""

import pytest

from plc_sim.model.line import LineModel
from plc_sim.model.spec import MODELS
from plc_sim.model.streams import replication_seed
from plc_sim.model.variants import VariantError, build_variant


def _flowing(spec, seed, hours: float = 1500.0, window: float = 300.0) -> tuple[int, int]:
    """Deliveries of each product in the last `window` hours of a run."""
    m = LineModel(spec, seed)
    m.run_working(hours - window)
    before = list(m.delivered)
    m.run_working(hours)
    return tuple(d - b for d, b in zip(m.delivered, before))


@pytest.mark.parametrize("scenario", [15, 21, 1])
def test_shared_kanbans_keep_parts_flowing(gear_line, scenario):
    spec = build_variant(gear_line, model="BSOP", scenario=scenario, sets=["K1=2", "K2=2", "C=10", "S3=2"])
    for rep in range(20):
        a, b = _flowing(spec, replication_seed(1, rep))
        assert a > 20 and b > 20, f"rep {rep}: deliveries in the last 300 h stopped ({a}, {b})"


GRID = [(k1, k2, c, S) for k1 in (1, 3, 24) for k2 in (1, 3, 24) for c in (1, 2, 6, 32)
        for S in ((0, 0, 0), (0, 0, 1), (0, 0, 4), (1, 1, 1))]
"""Card counts from the smallest the card rules allow (1 card, no base stock) past any that
can bind: K up to 24, C up to 32, base stocks at every stage. Points the card rules refuse
(base stocks over a kanban or CONWIP cap; under S-KAP both gears' stocks share the caps)
are skipped; the seed's constraints are off (they would allow less)."""


@pytest.mark.parametrize("kanban_until", ["next_start", "next_queue"])
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("scenario", [15, 21])
def test_no_deadlock_over_a_grid_of_card_counts(gear_line, model, scenario, kanban_until):
    """Card counts the card rules allow (not only the seed's constraints), stress scenarios,
    under both readings of what a kanban covers (the gear line's and the auto-parts cell's)."""
    base = build_variant(gear_line, model=model, scenario=scenario)
    base = base.model_copy(update={"policy": base.policy.model_copy(
        update={"constraints": "cards", "kanban_until": kanban_until})})
    tried = 0
    for i, (k1, k2, c, S) in enumerate(GRID):
        sets = [f"K1={k1}", f"K2={k2}", f"C={c}"] + [f"S{j + 1}={v}" for j, v in enumerate(S)]
        try:
            spec = build_variant(base, sets=sets)
        except VariantError:
            continue
        tried += 1
        a, b = _flowing(spec, replication_seed(2, i), hours=700.0, window=250.0)
        assert a > 0 and b > 0, (model, kanban_until, k1, k2, c, S, a, b)
    assert tried >= 70, tried
