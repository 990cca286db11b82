"""Preloaded by the fork server from which `plant up`'s worker processes start (and imported
nowhere else): the workers ignore SIGINT, so a Ctrl-C in the terminal, which reaches the whole
process group, stops `plant up` in order instead of killing the simulations of a run under way
(that run then finishes and is audited). The workers still end with their pool, and SIGTERM
still ends them."""

from __future__ import annotations

import os
import signal

from plantctl.malloc import tune_malloc

signal.signal(signal.SIGINT, signal.SIG_IGN)

# Each worker is forked from the fork server: it caps its arenas and trims its free pages as
# `plant up` does (plantctl/malloc.py); the fork server itself only forks.
os.register_at_fork(after_in_child=tune_malloc)
