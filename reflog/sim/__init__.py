"""The simulation runtime: a whole cluster in one process on a virtual clock."""

from reflog.sim.network import LinkConfig, SimNetwork
from reflog.sim.node import NodeContext, SimNode
from reflog.sim.trace import Note, Trace
from reflog.sim.world import Simulation

__all__ = ["LinkConfig", "NodeContext", "Note", "SimNetwork", "SimNode", "Simulation", "Trace"]
