"""The seed constraints on a live card write: a kanban or CONWIP count the PLC takes must not
break a seed constraint (`spec.seed_constraint_breaks`, the rule the plant file and the
optimizer apply), so the plant cannot be put where the optimizer cannot follow.

Counts are named as the Control tags are: `K1` (shared kanbans, S-KAP), `K1_A` (kanbans of
product A, D-KAP), `C_A` (CONWIP of A; under S-KAP every product's tag shows the line's one
count). A write that only keeps or eases a constraint the plant already breaks is taken:
it moves toward feasibility."""

from __future__ import annotations

from collections.abc import Mapping

import plant_tags as tags
from plc_sim.model.cards import DedicatedPool, SharedPool
from plc_sim.model.line import LineModel
from plc_sim.model.spec import Policy, seed_constraint_breaks

from .checks import Refusal, Rejected, clip

Counts = Mapping[str, int]


def live_counts(m: LineModel) -> dict[str, int]:
    """The card counts the model runs with, by Control tag name."""
    out: dict[str, int] = {tags.conwip_name(name): m.conwip_cap[p] for p, name in enumerate(m.products)}
    for s, pool in enumerate(m.pools):
        if isinstance(pool, SharedPool):
            out[tags.kanban_name(s + 1)] = pool.cap
        elif isinstance(pool, DedicatedPool):
            out.update({tags.kanban_name(s + 1, name): pool.cap[p] for p, name in enumerate(m.products)})
    return out


def policy_of(base: Policy, products: list[str], counts: Counts, shared: bool) -> Policy:
    """`base` (the plant file's policy: model, base stocks) with the card counts `counts`."""
    n_k = len(base.K_shared)
    c = {p: counts[tags.conwip_name(p)] for p in products}
    update: dict[str, object] = {"C": c, "C_shared": c[products[0]] if shared else base.C_shared}
    if shared:
        update["K_shared"] = [counts[tags.kanban_name(i + 1)] for i in range(n_k)]
    else:
        update["K_dedicated"] = {p: [counts[tags.kanban_name(i + 1, p)] for i in range(n_k)] for p in products}
    return base.model_copy(update=update)


def _broken(pol: Policy, products: list[str], n_stages: int) -> dict[str, str]:
    """The seed constraints `pol` breaks: constraint -> the full message."""
    return seed_constraint_breaks(pol, products, n_stages)


def card_write_problem(m: LineModel, counts: Counts, key: str, value: int) -> str | None:
    """Why writing `value` to the count `key` over the commanded `counts` breaks a seed
    constraint the plant keeps now (None: it does not, or the plant has no seed constraints)."""
    base = m.spec.policy
    if base.constraints != "seed":
        return None
    n = len(m.spec.stations)
    now = _broken(policy_of(base, m.products, counts, m.shared), m.products, n)
    changed = dict(counts)
    if m.shared and key.startswith("C_"):
        changed.update({tags.conwip_name(p): value for p in m.products})
    changed[key] = value
    after = _broken(policy_of(base, m.products, changed, m.shared), m.products, n)
    new = [msg for name, msg in after.items() if name not in now]
    return "; ".join(new) if new else None


def check_card_write(m: LineModel, counts: Counts, key: str, value: int) -> None:
    """Rejected(OUT_OF_RANGE) naming the constraint when the write would break one."""
    problem = card_write_problem(m, counts, key, value)
    if problem:
        raise Rejected(Refusal.OUT_OF_RANGE, f"{key}={clip(value)} refused: {problem}")
