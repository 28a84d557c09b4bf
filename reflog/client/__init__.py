"""What every Kafka client keeps: connections, version negotiation, metadata, in-flight
requests. Pure: the runtimes do the I/O and feed the events back."""

from reflog.client.actions import ClientAction, Connect, Disconnect, Send
from reflog.client.network import ClientNetwork, PartitionInfo

__all__ = ["ClientAction", "ClientNetwork", "Connect", "Disconnect", "PartitionInfo", "Send"]
