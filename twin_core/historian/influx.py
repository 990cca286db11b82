"""InfluxDB's v2 write API (also VictoriaMetrics' and other compatible servers'), line
protocol, one HTTP request per batch. influxdb-client's synchronous write API is used: it
raises on failure and does not retry, so the spool in front of this sink alone decides what
is resent (the client's own batching retries give up after their window and only call back)."""

from __future__ import annotations

import logging

from .sink import Point, SinkError

log = logging.getLogger(__name__)


def _esc_key(s: str) -> str:
    return s.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _esc_measurement(s: str) -> str:
    return s.replace("\\", "\\\\").replace(",", "\\,").replace(" ", "\\ ")


def _field(v: float | int | str) -> str:
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, bool):
        return "1i" if v else "0i"
    if isinstance(v, int):
        return f"{v}i"
    return repr(float(v))


def line_protocol(p: Point, numeric_only: bool = False) -> str | None:
    """One point as a line of InfluxDB line protocol; None when no field is left."""
    fields = [(k, v) for k, v in p.fields.items() if not (numeric_only and isinstance(v, str))]
    if not fields:
        return None
    tags = "".join(f",{_esc_key(k)}={_esc_key(v)}" for k, v in sorted(p.tags.items()) if v != "")
    body = ",".join(f"{_esc_key(k)}={_field(v)}" for k, v in fields)
    return f"{_esc_measurement(p.measurement)}{tags} {body} {p.time_ns}"


class InfluxSink:
    """Writes batches through influxdb-client's synchronous v2 write API."""

    name = "influx"

    def __init__(self, url: str, token: str, org: str, bucket: str, numeric_only: bool = False,
                 timeout_s: float = 10.0) -> None:
        from influxdb_client.client.influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS

        self.bucket, self.org, self.numeric_only = bucket, org, numeric_only
        self._client = InfluxDBClient(url=url, token=token or "none", org=org, timeout=int(timeout_s * 1000),
                                      enable_gzip=False)
        self._write = self._client.write_api(write_options=SYNCHRONOUS)
        self.dropped_text_fields = 0

    def write(self, points: list[Point]) -> None:
        from influxdb_client.domain.write_precision import WritePrecision

        lines = []
        for p in points:
            line = line_protocol(p, self.numeric_only)
            if line is None:
                self.dropped_text_fields += 1
            else:
                lines.append(line)
        if not lines:
            return
        try:
            self._write.write(bucket=self.bucket, org=self.org, record="\n".join(lines),
                              write_precision=WritePrecision.NS)  # type: ignore[arg-type]
        except Exception as e:  # urllib3 and ApiException: every failure means "not stored"
            raise SinkError(f"influx: {type(e).__name__}: {e}") from e

    def close(self) -> None:
        self._write.close()  # type: ignore[no-untyped-call]
        self._client.close()  # type: ignore[no-untyped-call]
