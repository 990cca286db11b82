"""Settings of the PLC and its server: keyword overrides, then environment, then the part's
table of a TOML file, then defaults."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from opcua_server.settings import ServerSettings
from plc_sim.plc.settings import PlcSettings


@pytest.fixture()
def config(tmp_path: Path) -> Path:
    path = tmp_path / "plant.toml"
    path.write_text('[plc]\nplant = "auto_parts_cell"\ntime_factor = "max"\nseed = 7\n\n'
                    '[opcua]\nport = 4999\nmax_sessions = 7\n')
    return path


def test_defaults_work_without_a_file_or_environment(monkeypatch):
    for var in ("PLANT_DATA_DIR", "PLANT_OPCUA_PORT", "PLANT_PLC_TIME_FACTOR"):
        monkeypatch.delenv(var, raising=False)
    plc, srv = PlcSettings.load(), ServerSettings.load()
    assert (plc.plant, plc.time_factor, plc.seed) == ("gear_line", 60.0, 1)
    assert (srv.host, srv.port, srv.data_dir, srv.allow_none_policy) == ("127.0.0.1", 4840, Path("data"), False)


def test_each_part_reads_its_own_table(config):
    plc, srv = PlcSettings.load(config), ServerSettings.load(config)
    assert (plc.plant, plc.time_factor, plc.seed) == ("auto_parts_cell", None, 7)
    assert (srv.port, srv.max_sessions) == (4999, 7)


def test_overrides_beat_environment_beat_file(config, monkeypatch, tmp_path):
    monkeypatch.setenv("PLANT_OPCUA_PORT", "5001")
    monkeypatch.setenv("PLANT_PLC_SEED", "9")
    monkeypatch.setenv("PLANT_DATA_DIR", str(tmp_path / "d"))
    assert ServerSettings.load(config).port == 5001
    assert ServerSettings.load(config, port=5002).port == 5002
    assert ServerSettings.load(config).data_dir == tmp_path / "d"
    assert PlcSettings.load(config).seed == 9


def test_bad_values_are_refused(tmp_path):
    with pytest.raises(ValidationError) as e:
        PlcSettings.load(time_factor="0")
    assert [(err["loc"], err["type"]) for err in e.value.errors()] == [(("time_factor",), "greater_than")]
    bad = tmp_path / "bad.toml"
    bad.write_text("[opcua]\nmax_sesions = 3\n")
    with pytest.raises(ValidationError) as e:
        ServerSettings.load(bad)
    assert [(err["loc"], err["type"]) for err in e.value.errors()] == [(("max_sesions",), "extra_forbidden")]


def test_the_example_config_of_deploy_loads(monkeypatch):
    for var in ("PLANT_DATA_DIR", "PLANT_OPCUA_PORT", "PLANT_PLC_SEED"):
        monkeypatch.delenv(var, raising=False)
    example = Path(__file__).parents[2] / "deploy" / "plant.example.toml"
    plc, srv = PlcSettings.load(example), ServerSettings.load(example)
    assert (plc.model, plc.time_factor) == ("BDOP", 60.0)
    assert (srv.port, srv.allow_none_policy, srv.data_dir) == (4840, False, Path("/var/lib/plant-twin"))
