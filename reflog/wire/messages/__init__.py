"""Typed request and response classes, one module per Kafka API."""
