"""``reflog chaos``: a real multi-process cluster, clients that record what they see, a nemesis
of process faults, then the history checker's verdict and an HTML timeline."""

from reflog.chaos.run import CLIENTS, PRESETS, ChaosResult, Preset, run_chaos

__all__ = ["CLIENTS", "PRESETS", "ChaosResult", "Preset", "run_chaos"]
