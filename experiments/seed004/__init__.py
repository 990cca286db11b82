"""Seed 004's experiment on our gear line (`plant experiment seed004`): the four control
models, the plain settings against GA, PSO, DE and ES run as the seed ran them and our
simulation-based NSGA-II, every chosen solution evaluated on fresh replications with common
random numbers, the seed's Tables 3-5, per-model KPIs, figures and a Markdown report."""
