"""Kafka's transactions (KIP-98): the transaction coordinator and what it writes."""
