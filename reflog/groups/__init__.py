"""Consumer groups: the group coordinator on the broker side, the assignors and the
ConsumerProtocol encoding on the client side."""
