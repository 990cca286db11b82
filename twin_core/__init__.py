"""The digital twin's core: an OPC UA client that mirrors the plant, a historian, calibration
and forecasts. It meets the PLC only over OPC UA (it never imports `plc_sim.plc` or
`opcua_server`); it may use the model library `plc_sim.model`."""
