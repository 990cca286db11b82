"""The web view: the plant in a browser beside OPC UA, served by `plant up`.

It reads what the twin and the server already know: the twin's observed state (every tag
the twin mirrors over OPC UA, its events and alarms), the twin's historian for trends, and
the optimizer's audit log. A logged-in user acts through an OPC UA session of their own on
the plant's server, so every control meets the same user store, roles and checks (and the
same refusals) as an HMI's call. Nothing here reads the PLC's objects."""
