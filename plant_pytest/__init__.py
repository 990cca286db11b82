"""A plant for users' own integration tests: `PlantUnderTest` starts the PLC and its OPC UA
server on a free loopback port, in a thread of its own, and the pytest plugin
(`plant_pytest.plugin`, registered as the `plant` pytest11 entry point) yields one per test
as the `plant_server` fixture. See the README's "Testing your client against the plant"."""

from plant_pytest.plant import PlantUnderTest, Profile, User

__all__ = ["PlantUnderTest", "Profile", "User"]
