"""A one-machine, one-product plant with deterministic times, for hand-computed checks."""

from plc_sim.model.spec import PlantSpec, parse_plant

TEMPLATE = """
name = "tiny"
line = "Tiny"
[calendar]
hours_per_day = 24.0
days_per_week = 7
[products.P]
[[stations]]
name = "S1"
machines = [{{ name = "M1" }}]
[routing]
unit = "h"
times.P = [{{ dist = "constant", mean = {proc} }}]
[demand.P]
interarrival = {{ dist = "constant", mean = {gap} }}
lost_sale_queue = 1000
[raw]
interval = {{ dist = "constant", mean = 1.0 }}
lot = 100
cap = 100
initial = 100
[quality]
defect_prob = 0.0
return_prob = {{ dist = "constant", mean = 0.000001 }}
[recycling]
service = {{ dist = "constant", mean = 0.1 }}
[failures]
{failures}
[maintenance]
{maintenance}
[power]
processing = 10.0
idle = 2.0
standby = 0.5
wakeup = 6.0
down = 1.0
maintenance = 3.0
[costs]
FG = {{ P = 1.0 }}
SC = 0.0
B = 0.0
M = 0.0
R = 0.0
I3 = 0.0
LD = 0.0
Rw = 0.0
Rn = 0.0
[policy]
model = "BDOP"
C = {{ P = 5 }}
S = {{ P = [0] }}
K_dedicated = {{ P = [] }}
K_shared = []
{extra}
"""

NO_FAILURES = 'time_to_failure = { dist = "constant", mean = 1e9 }\nrepair = { dist = "constant", mean = 1.0 }'
NO_MAINTENANCE = 'interval_h = 1e9\nduration = { dist = "constant", mean = 1.0 }'


def tiny(proc: float = 0.5, gap: float = 2.0, failures: str = NO_FAILURES,
         maintenance: str = NO_MAINTENANCE, machine: str = "", extra: str = "") -> PlantSpec:
    text = TEMPLATE.format(proc=proc, gap=gap, failures=failures, maintenance=maintenance, extra=extra)
    if machine:
        text = text.replace('machines = [{ name = "M1" }]', f'machines = [{{ name = "M1", {machine} }}]')
    return parse_plant(text, "tiny.toml")
