"""``reflog chaos``: a real multi-process cluster (or one ``reflog cluster up`` started), clients
that record what they see, a nemesis of process and network faults (the latter through the
fault-injecting links of :mod:`reflog.chaos.links`), then the history checker's verdict and an
HTML timeline. :mod:`reflog.chaos.simulated` is the same idea on the simulated cluster."""

from reflog.chaos.run import CLIENTS, PRESETS, ChaosResult, Preset, run_chaos

__all__ = ["CLIENTS", "PRESETS", "ChaosResult", "Preset", "run_chaos"]
