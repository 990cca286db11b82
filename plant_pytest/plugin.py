"""The pytest plugin (entry point `plant` in the pytest11 group, so installing the package is
enough): the `plant_server` fixture yields a running `PlantUnderTest` per test, configured by
the test's `plant` marker, and stops it after the test; `plant_server_factory` starts more.

    @pytest.mark.plant(seed=7, time_factor=600, profile="secure", faults="faults.toml")
    def test_my_client(plant_server):
        ...

A relative `faults` path is taken from the test file's folder. Imports of the plant itself
happen when a fixture is used, so the plugin costs nothing to a suite that does not."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from plant_pytest.plant import PlantUnderTest

MARKER = "plant"
OPTIONS = ("plant", "seed", "time_factor", "profile", "faults", "model", "scenario", "start_h", "scan_s")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}(**options): options of the plant_server fixture "
                                       f"({', '.join(OPTIONS)})")


def _options(request: pytest.FixtureRequest, extra: dict[str, Any]) -> dict[str, Any]:
    marker = request.node.get_closest_marker(MARKER)
    options = {**(marker.kwargs if marker else {}), **extra}
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise pytest.UsageError(f"plant marker: unknown option(s) {', '.join(unknown)}; one of {', '.join(OPTIONS)}")
    faults = options.get("faults")
    if faults is not None and not Path(faults).is_absolute():
        options["faults"] = Path(str(request.node.fspath)).parent / faults
    return options


@pytest.fixture
def plant_server_factory(request: pytest.FixtureRequest,
                         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., PlantUnderTest]]:
    """`plant_server_factory(**options)` starts a plant (the marker's options, overridden by
    these); every plant it started is stopped after the test."""
    from plant_pytest.plant import PlantUnderTest

    started: list[PlantUnderTest] = []

    def start(**extra: Any) -> PlantUnderTest:
        plant = PlantUnderTest(tmp_path_factory.mktemp("plant"), **_options(request, extra))
        started.append(plant.start())
        return plant

    yield start
    for plant in reversed(started):
        plant.stop()


@pytest.fixture
def plant_server(plant_server_factory: Callable[..., PlantUnderTest]) -> PlantUnderTest:
    """A running plant for this test, configured by its `plant` marker."""
    return plant_server_factory()
