"""Settings sources: command line > environment > TOML table > defaults, also for a setting
whose environment name is an alias (PLANT_DATA_DIR)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from plc_sim.model.config import PartSettings


class DemoSettings(PartSettings):
    model_config = SettingsConfigDict(env_prefix="PLANT_DEMO_", extra="forbid")
    toml_table: ClassVar[str] = "demo"

    port: int = 1
    data_dir: Path = Field(default=Path("data"), validation_alias=AliasChoices("PLANT_DATA_DIR", "data_dir"))


def test_environment_beats_the_file_for_an_aliased_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "plant.toml"
    config.write_text('[demo]\nport = 2\ndata_dir = "/from/file"\n')
    monkeypatch.delenv("PLANT_DATA_DIR", raising=False)
    assert DemoSettings.load(config).data_dir == Path("/from/file")
    monkeypatch.setenv("PLANT_DATA_DIR", "/from/env")
    monkeypatch.setenv("PLANT_DEMO_PORT", "3")
    s = DemoSettings.load(config)
    assert (s.data_dir, s.port) == (Path("/from/env"), 3)
    s = DemoSettings.load(config, data_dir=Path("/from/cli"), port=4)
    assert (s.data_dir, s.port) == (Path("/from/cli"), 4)
