"""Preloaded by the fork server from which `plant up`'s worker processes start (and imported
nowhere else): the workers ignore SIGINT, so a Ctrl-C in the terminal, which reaches the whole
process group, stops `plant up` in order instead of killing the simulations of a run under way
(that run then finishes and is audited). The workers still end with their pool, and SIGTERM
still ends them."""

from __future__ import annotations

import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
