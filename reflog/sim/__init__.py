"""The simulation runtime: a whole cluster in one process on a virtual clock.

Start with :class:`Cluster` (controllers, brokers, clients, faults) and its
:class:`Timeline` of :class:`Snapshot`\\ s; :class:`Simulation` is the kernel under it.
"""

from reflog.sim.admin import ProduceResult
from reflog.sim.cluster import Cluster, ClusterError, records_of
from reflog.sim.network import LinkConfig, SimNetwork
from reflog.sim.node import NodeContext, SimNode
from reflog.sim.timeline import (
    ConsumerSnapshot,
    MessageInFlight,
    NodeSnapshot,
    PartitionSnapshot,
    ProducerSnapshot,
    ReplicaSnapshot,
    SegmentSnapshot,
    Snapshot,
    Timeline,
    UserAction,
)
from reflog.sim.trace import Note, Trace
from reflog.sim.world import Simulation

__all__ = [
    "Cluster",
    "ClusterError",
    "ConsumerSnapshot",
    "LinkConfig",
    "MessageInFlight",
    "NodeContext",
    "NodeSnapshot",
    "Note",
    "PartitionSnapshot",
    "ProduceResult",
    "ProducerSnapshot",
    "ReplicaSnapshot",
    "SegmentSnapshot",
    "SimNetwork",
    "SimNode",
    "Simulation",
    "Snapshot",
    "Timeline",
    "Trace",
    "UserAction",
    "records_of",
]
