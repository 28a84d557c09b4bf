"""The simulated KRaft cluster the controller and replication scenarios run on."""

from reflog.sim.kraft import HEARTBEAT_INTERVAL, SESSION_TIMEOUT, KraftCluster, ProbeNode

__all__ = ["HEARTBEAT_INTERVAL", "SESSION_TIMEOUT", "KraftCluster", "ProbeNode"]
