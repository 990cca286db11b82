"""The OPC UA server's metrics endpoint over a real server on loopback: sessions,
subscriptions and monitored items follow the clients, notifications sent grow while the plant
runs, and refused requests are counted by kind and status code (a write out of range, a
viewer's write, a wrong password)."""

from __future__ import annotations

import pytest
from asyncua import Client, ua

from opcua_server.metrics import ServerCollector
from plantctl.metrics import serve_metrics, stop_metrics
from tests.metrics.scrape import scrape, value
from tests.support.opcua_harness import NS, client, running_plant
from tests.support.polling import until

PATHS = ("GearLine/KPIs/PlantTime", "GearLine/KPIs/WIP", "GearLine/MP1/MP1/State")


def _refused(got: dict, kind: str, code: str) -> float:
    return got.get(("plant_opcua_refused_requests_total", (("kind", kind), ("status_code", code))), 0.0)


class _Handler:
    def __init__(self) -> None:
        self.changes = 0

    def datachange_notification(self, *_args: object) -> None:
        self.changes += 1


async def test_server_metrics_follow_clients_and_refusals(tmp_path):
    async with running_plant(tmp_path) as (_plc, srv):
        server = serve_metrics([ServerCollector(srv)], "127.0.0.1", 0)
        try:
            idle = await scrape(server)
            assert value(idle, "plant_opcua_sessions") == 0
            async with client(srv, "eve") as c, client(srv, "vic") as viewer:
                idx = await c.get_namespace_index(NS)
                nodes = [c.get_node(ua.NodeId(f"Plant/{p}", idx)) for p in PATHS]
                handler = _Handler()
                sub = await c.create_subscription(50, handler)
                await sub.subscribe_data_change(nodes)
                await until(lambda: handler.changes >= 10, what="ten data changes at the client")
                got = await scrape(server)
                assert value(got, "plant_opcua_sessions") == 2
                assert value(got, "plant_opcua_connections") == 2
                assert value(got, "plant_opcua_subscriptions") == 1
                assert value(got, "plant_opcua_monitored_items") == len(PATHS)
                assert value(got, "plant_opcua_notifications_sent_total", kind="data_change") >= 10
                assert value(got, "plant_opcua_publish_responses_total") >= 1
                assert value(got, "plant_opcua_publish_queue_notifications") >= 0

                k1 = ua.NodeId("Plant/GearLine/Control/K1_B", idx)
                with pytest.raises(ua.UaStatusCodeError):
                    await c.get_node(k1).write_value(ua.Variant(0, ua.VariantType.Int32))
                with pytest.raises(ua.UaStatusCodeError):
                    await viewer.get_node(k1).write_value(ua.Variant(3, ua.VariantType.Int32))
                refused = await scrape(server)
                assert _refused(refused, "Write", "BadOutOfRange") == _refused(got, "Write", "BadOutOfRange") + 1
                assert _refused(refused, "Write", "BadUserAccessDenied") == \
                    _refused(got, "Write", "BadUserAccessDenied") + 1
                await sub.delete()

            intruder = Client(srv.url, timeout=10)
            intruder.set_user("eve")
            intruder.set_password("not-eve-pw")
            with pytest.raises(ua.UaStatusCodeError):
                async with intruder:
                    pass
            after = await scrape(server)
            assert sum(v for (n, labels), v in after.items() if n == "plant_opcua_refused_requests_total"
                       and ("kind", "ActivateSession") in labels) == 1
            assert value(after, "plant_opcua_subscriptions") == 0
        finally:
            stop_metrics(server)
