"""ISR replication: leader epochs, high watermarks, followers and in-sync replicas."""
