"""reflog's producer: a pure core that batches records and picks partitions."""
