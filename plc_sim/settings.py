"""Settings of the PLC, and the way every part reads its settings: keyword overrides (the
command line), then environment variables with the part's prefix, then the part's table
of an optional TOML file (`[plc]`, `[opcua]`, ...), then the defaults. One file can so
configure every part that `plant up` composes."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


class TomlTableSource(PydanticBaseSettingsSource):
    """One table of a TOML file (none when there is no file or no such table)."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None, table: str) -> None:
        super().__init__(settings_cls)
        data = tomllib.loads(Path(path).read_text()) if path is not None else {}
        self._values: dict[str, Any] = data.get(table, {})

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


class PartSettings(BaseSettings):
    """Base of one part's settings; `toml_table` names its table in a TOML file."""

    toml_table: ClassVar[str] = ""
    toml_path: ClassVar[Path | None] = None

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlTableSource(settings_cls, cls.toml_path, cls.toml_table)
        return init_settings, env_settings, toml

    @classmethod
    def load(cls, toml_file: Path | None = None, **overrides: object):
        """Settings from keyword overrides, then the environment, then `toml_file`."""
        if toml_file is None:
            return cls(**overrides)

        class FromFile(cls):  # type: ignore[misc, valid-type]
            toml_path = toml_file

        return FromFile(**overrides)


class PlcSettings(PartSettings):
    """What the PLC runs: which plant and variant, its seed, and how fast (PLANT_PLC_*, [plc])."""

    model_config = SettingsConfigDict(env_prefix="PLANT_PLC_", extra="forbid")
    toml_table: ClassVar[str] = "plc"

    plant: str = "gear_line"
    """A bundled plant name or the path of a plant TOML file."""
    model: str | None = None
    """BDOP, BSOP, HDOP or HSOP (plants with seed-004 control); None keeps the plant file's."""
    scenario: int | None = None
    """A Table-1 scenario of the plant file; None keeps the plant file's rates."""
    sets: list[str] = []
    """Policy or setpoint overrides, as `plant simulate --set` takes them."""
    seed: int = 1
    time_factor: float | None = Field(default=60.0, gt=0)
    """Plant seconds per wall second (60: a plant minute per second); None or "max": as fast
    as possible."""
    scan_s: float = Field(default=0.1, gt=0)
    """Scan period in wall seconds."""

    @field_validator("time_factor", mode="before")
    @classmethod
    def _max(cls, v: object) -> object:
        return None if isinstance(v, str) and v.strip().lower() == "max" else v
