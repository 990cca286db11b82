"""The asyncua server that gives the simulated PLC its OPC UA face."""
