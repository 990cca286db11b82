"""What `plant history` needs to know of a tag that the history does not store: its unit and,
for an enumeration such as a machine's State, the names of its values. Read from the PLC's own
tag table of the twin's plant file (plc_sim/plc/tagmap.py), the one place they are declared."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TagMeta:
    unit: str = ""
    states: tuple[str, ...] | None = None


def tag_meta(plant: str, path: str) -> TagMeta:
    """The unit and state names of tag `path` of plant file `plant`; empty when the plant file
    does not load or has no such tag (a twin of another server, mapped by a tag file)."""
    from plc_sim.model.line import LineModel
    from plc_sim.model.spec import PlantFileError, load_plant
    from plc_sim.plc.alarms import AlarmBook
    from plc_sim.plc.tagmap import build_tags

    try:
        table = build_tags(LineModel(load_plant(plant), 1), AlarmBook(), lambda: 0.0, lambda: 0.0)
    except (PlantFileError, OSError, ValueError):
        return TagMeta()
    tag = table.tags.get(path)
    return TagMeta() if tag is None else TagMeta(tag.unit, tag.enum)
