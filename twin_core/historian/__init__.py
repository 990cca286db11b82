"""Time series of everything the twin mirrors: one small sink interface, an embedded SQLite
store by default, InfluxDB's v2 write API, and a durable spool in front of either."""

from .sink import Point, Sink, SinkError

__all__ = ["Point", "Sink", "SinkError"]
