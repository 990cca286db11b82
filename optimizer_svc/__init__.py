"""The optimizer: problems whose evaluation is a forecast, pymoo and scipy solvers, paired
verification, write-back over OPC UA and the schedule. It imports the model library
(`plc_sim.model`) but never the PLC runtime or the OPC UA server (see DESIGN.md)."""
