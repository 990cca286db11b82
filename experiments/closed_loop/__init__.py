"""`plant experiment closed-loop`: seed 000's claim measured on the whole stack. Per seed three
arms on the same plant and the same random numbers: the live loop (PLC, OPC UA server, twin,
optimizer writing back over OPC UA, cycles at fixed plant hours), the baseline (no
optimizer) and the offline optimum (`plant optimize`'s choice applied from the start)."""
