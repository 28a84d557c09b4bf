"""`reflog broker server.properties --override name=value`: Kafka's config names from a
file, then the overrides, then reflog's own flags; a bad value is one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.broker_process import running_broker


def reflog(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reflog", *args], capture_output=True, text=True, timeout=60
    )


def test_a_broker_reads_kafkas_names_from_server_properties_and_the_overrides_win(
    tmp_path: Path,
) -> None:
    props = tmp_path / "server.properties"
    props.write_text(
        "# a Kafka-style file\n"
        "process.roles=broker,controller\n"
        "num.partitions=3\n"
        "log.retention.ms=3600000\n"
        "min.insync.replicas=1\n"
        "no.such.setting=1\n"
    )
    with running_broker(tmp_path / "data", str(props), "--override", "num.partitions=2") as b:
        server = ("--bootstrap-server", b.bootstrap)
        created = reflog("topics", "create", "--topic", "from-file", *server)
        assert created.returncode == 0, created.stderr
        described = reflog("topics", "describe", "--topic", "from-file", *server)
        assert "PartitionCount: 2" in described.stdout  # the override over the file's 3
        configs = reflog("configs", "--describe", "--all", "--entity-type", "topics",
                         "--entity-name", "from-file", *server)  # fmt: skip
        assert "retention.ms=3600000 " in configs.stdout
        broker = reflog("configs", "--describe", "--entity-type", "brokers",
                        "--entity-name", "0", *server)  # fmt: skip
        assert "log.retention.ms=3600000 sensitive=false synonyms={STATIC_BROKER_CONFIG" in (
            broker.stdout
        )
        b.terminate()
        assert b.process.stderr is not None
        assert "reflog broker: ignoring unknown config no.such.setting" in b.process.stderr.read()


def test_a_bad_value_in_server_properties_is_one_line_with_kafkas_wording(tmp_path: Path) -> None:
    props = tmp_path / "server.properties"
    props.write_text("node.id=1\nlog.dirs=" + str(tmp_path / "d") + "\nnum.partitions=many\n")
    result = reflog("broker", str(props))
    assert result.returncode == 1
    assert result.stderr == (
        "reflog broker: Invalid value many for configuration num.partitions: "
        "Not a number of type INT\n"
    )
    missing = reflog("broker", str(tmp_path / "nope.properties"))
    assert missing.returncode == 1 and missing.stderr.startswith("reflog broker: cannot read ")
