"""The way every part reads its settings: keyword overrides (the
command line), then environment variables with the part's prefix, then the part's table
of an optional TOML file (`[plc]`, `[opcua]`, ...), then the defaults. One file can so
configure every part that `plant up` composes."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import AliasChoices
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
        """The table's values, keyed as the environment source keys them: a field whose
        environment name is an alias (`data_dir` read from PLANT_DATA_DIR) is given under that
        alias, so that the environment overrides the file instead of both being passed."""
        out: dict[str, Any] = {}
        for key, value in self._values.items():
            out[_alias_of(self.settings_cls, key)] = value
        return out


def _alias_of(settings_cls: type[BaseSettings], name: str) -> str:
    """The first validation alias of field `name`, or `name` itself."""
    info = settings_cls.model_fields.get(name)
    alias = info.validation_alias if info is not None else None
    if isinstance(alias, AliasChoices) and alias.choices and isinstance(alias.choices[0], str):
        return alias.choices[0]
    if isinstance(alias, str):
        return alias
    return name


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
    def load(cls, toml_file: Path | None = None, **overrides: Any) -> Self:
        """Settings from keyword overrides, then the environment, then `toml_file`."""
        if toml_file is None:
            return cls(**overrides)

        class FromFile(cls):  # type: ignore[valid-type,misc]
            toml_path = toml_file

        return FromFile(**overrides)
