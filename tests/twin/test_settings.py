"""The twin's settings: keyword overrides, then PLANT_TWIN_* variables, then the [twin] table."""

from __future__ import annotations

from twin_core.settings import TwinSettings


def test_settings_from_toml_environment_and_overrides(tmp_path, monkeypatch):
    toml = tmp_path / "plant.toml"
    toml.write_text('[twin]\nendpoint = "opc.tcp://plc:4840/plant"\nsink = "influx"\nqueue_size = 5\n'
                    'spool_max_points = 1000\n[opcua]\nport = 1\n')
    monkeypatch.setenv("PLANT_TWIN_QUEUE_SIZE", "7")
    monkeypatch.setenv("PLANT_TWIN_DATA_DIR", str(tmp_path / "d"))
    s = TwinSettings.load(toml, publishing_ms=250.0)
    assert s.endpoint == "opc.tcp://plc:4840/plant" and s.sink == "influx" and s.spool_max_points == 1000
    assert s.queue_size == 7, "the environment beats the file"
    assert s.publishing_ms == 250.0 and s.data_dir == tmp_path / "d"


def test_defaults_work_on_a_fresh_machine(monkeypatch):
    for k in ("PLANT_TWIN_QUEUE_SIZE", "PLANT_TWIN_DATA_DIR"):
        monkeypatch.delenv(k, raising=False)
    s = TwinSettings.load()
    assert s.sink == "sqlite" and s.security_policy == "Basic256Sha256" and s.security_mode == "SignAndEncrypt"
    assert not s.allow_none and s.metrics_host == "127.0.0.1"
