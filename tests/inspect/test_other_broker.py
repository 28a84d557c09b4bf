"""The inspector in front of a Kafka-protocol broker that is not reflog: confluent-kafka's
bundled librdkafka mock cluster (three brokers, newer protocol versions than reflog's). kcat
lists, produces and consumes through it; the inspector decodes the conversation, rewrites the
three brokers' addresses and caps the address-bearing APIs to versions reflog.wire decodes."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from .test_real_clients import InspectorThread, produced_values

pytestmark = pytest.mark.clients


@pytest.fixture
def mock_brokers() -> Iterator[dict[int, tuple[str, int]]]:
    if importlib.util.find_spec("confluent_kafka") is None:
        pytest.fail("confluent-kafka is missing (it bundles the mock cluster)")
    import confluent_kafka

    # The mock cluster lives as long as the client that asked for it.
    owner = confluent_kafka.Producer({"test.mock.num.brokers": 3})
    metadata = owner.list_topics(timeout=10)
    yield {b.id: (b.host, b.port) for b in metadata.brokers.values()}
    owner.flush(5)


def kcat(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kcat", *args], input=stdin, capture_output=True, text=True, timeout=60)


def test_kcat_through_the_inspector_to_librdkafkas_mock_cluster(
    mock_brokers: dict[int, tuple[str, int]],
) -> None:
    if shutil.which("kcat") is None:
        pytest.fail("kcat is missing (Debian package kcat)")
    inspector = InspectorThread(mock_brokers[min(mock_brokers)])
    try:
        listed = kcat("-b", inspector.bootstrap, "-L")
        assert listed.returncode == 0, listed.stderr
        produced = kcat("-b", inspector.bootstrap, "-P", "-t", "mt", "-p", "0", stdin="a\nb\nc\n")
        assert produced.returncode == 0, produced.stderr
        consumed = kcat(
            "-b", inspector.bootstrap, "-C", "-t", "mt", "-p", "0", "-o", "beginning", "-e"
        )
        assert consumed.returncode == 0, consumed.stderr
        assert consumed.stdout == "a\nb\nc\n"
        events = inspector.seen()
    finally:
        inspector.close()
    for host, port in mock_brokers.values():  # kcat was told of every broker at the inspector
        assert f"at {host}:{port}" not in listed.stdout
    assert listed.stdout.count("at 127.0.0.1:") == 3
    refused = {
        (e.connection, e.correlation_id)
        for e in events
        if e.api == "ApiVersions" and "UNSUPPORTED_VERSION" in e.errors
    }
    undecoded = [
        e.line() for e in events if e.problem and (e.connection, e.correlation_id) not in refused
    ]
    assert not undecoded, undecoded
    assert produced_values(events, "mt") == 3
    api_versions = [e for e in events if e.api == "ApiVersions" and e.direction == "response"]
    assert any("capped Metadata to v" in e.fault for e in api_versions)
