"""``reflog chaos --preset NAME``: attack a real cluster and check what its clients saw.

It starts a cluster of OS processes (as ``reflog cluster up`` does) in ``--data-dir``, creates a
topic of 3 partitions with 3 replicas configured by the preset, runs producers and a consumer
while a nemesis faults partition leaders for ``--time-s`` seconds, heals, reads everything back,
and hands the recorded history to :mod:`reflog.check`. It prints the verdict, writes
``--report`` (an HTML page with a timeline of operations, faults and anomalies), and exits 0
when the checker found nothing, 3 when it found anomalies.

``--faults`` picks the nemesis's faults (the preset's by default): ``kill`` (SIGKILL, then
restart), ``pause`` (SIGSTOP, then SIGCONT), ``partition`` (the leader cut off from the other
nodes, clients still reaching it), ``slow`` (its links delayed) and ``lossy`` (half its answers
to clients lost, so producers retry); the last three start the cluster behind the
fault-injecting links of :mod:`reflog.chaos.links`. ``--attach DATA_DIR`` faults the running
cluster of ``reflog cluster up --data-dir DATA_DIR`` instead (process faults only), on a topic of
its own, and leaves it up. ``--clients confluent-kafka`` runs librdkafka's producers and consumer
instead of reflog's own (the final reads stay reflog's). ``--controllers 3`` runs a quorum of
three controllers, whose links to each other are relayed too: a third of the partition and slow
faults then hit a controller.

Presets: ``acks1-unclean`` (acks=1, unclean.leader.election.enable=true: may lose records),
``acks-all-min-insync-2`` (acks=all, min.insync.replicas=2: loses nothing acknowledged),
``retries-no-idempotence`` (producers retry, enable.idempotence=false, under lossy links: may
write records twice) and ``retries-idempotence`` (the same with enable.idempotence=true: writes
each record once). The first two fault with kill and pause by default, the last two with lossy.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
from pathlib import Path

from reflog.chaos import CLIENTS, PRESETS, Preset, run_chaos
from reflog.chaos.attach import AttachedCluster, AttachError
from reflog.chaos.nemesis import FAULT_KINDS, NETWORK_FAULTS
from reflog.chaos.report import write_report
from reflog.check import Op, Outcome, Poll, Send
from reflog.cli.broker_cmd import check_data_dir
from reflog.cli.commands import CliError, Subparsers

__all__ = ["register"]

ANOMALIES_FOUND = 3


def register(sub: Subparsers) -> None:
    p = sub.add_parser("chaos", help="fault a real cluster under load and check the history")
    p.add_argument(
        "--preset",
        required=True,
        choices=sorted(PRESETS),
        help="what is put to the test: acks1-unclean and acks-all-min-insync-2 (lost records, "
        "under kill and pause by default), retries-no-idempotence and retries-idempotence "
        "(duplicates, under lossy links by default)",
    )
    p.add_argument("--seed", type=int, default=0, help="the nemesis's and workload's seed")
    p.add_argument("--time-s", type=float, default=30.0, help="how long the faults go on")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--data-dir", help="an empty directory for a cluster of its own")
    where.add_argument(
        "--attach",
        metavar="DATA_DIR",
        help="fault the running cluster of `reflog cluster up --data-dir DATA_DIR` instead "
        "(process faults only; the cluster is left up)",
    )
    p.add_argument("--report", default="chaos-report.html", help="the HTML report to write")
    p.add_argument("--brokers", type=int, default=3)
    p.add_argument(
        "--controllers",
        type=int,
        default=1,
        help="controllers (Raft voters) of a cluster of its own; with more than one, partition "
        "and slow faults hit controllers too",
    )
    p.add_argument("--rate", type=float, default=20.0, help="records a second per producer")
    p.add_argument(
        "--clients", choices=CLIENTS, default="reflog", help="whose producers and consumer"
    )
    p.add_argument(
        "--faults",
        help=f"the nemesis's faults, comma-separated, of {', '.join(FAULT_KINDS)} (partition, "
        "slow and lossy start the cluster behind relays that cut, slow or lose on links "
        "between nodes); the preset's by default",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.brokers < 3:
        raise CliError("a chaos run needs at least 3 brokers (topics have 3 replicas)")
    if args.controllers < 1:
        raise CliError("a cluster needs at least one controller")
    if args.time_s <= 0:
        raise CliError("--time-s must be positive")
    if args.clients == "confluent-kafka" and importlib.util.find_spec("confluent_kafka") is None:
        raise CliError("--clients confluent-kafka needs the confluent-kafka package")
    preset = PRESETS[args.preset]
    faults = preset.faults
    if args.faults is not None:
        faults = tuple(dict.fromkeys(f.strip() for f in args.faults.split(",") if f.strip()))
    unknown = [f for f in faults if f not in FAULT_KINDS]
    if unknown or not faults:
        raise CliError(f"--faults takes some of {', '.join(FAULT_KINDS)}, not {args.faults!r}")
    attach = None
    if args.attach is not None:
        if NETWORK_FAULTS & set(faults):
            raise CliError(
                "--attach: a cluster from `reflog cluster up` has no relays, so no network "
                "faults (let reflog chaos start its own cluster with --data-dir)"
            )
        try:
            attach = AttachedCluster(Path(args.attach))
        except AttachError as exc:
            raise CliError(f"--attach: {exc}") from exc
        if len(attach.broker_ids) < 3:
            raise CliError("a chaos run needs at least 3 brokers (topics have 3 replicas)")
        data_dir = Path(args.attach)
    else:
        data_dir = check_data_dir(Path(args.data_dir))

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    result = asyncio.run(
        run_chaos(
            preset, args.seed, args.time_s, data_dir, brokers=args.brokers,
            controllers=args.controllers, rate_per_s=args.rate, clients=args.clients, faults=faults,
            attach=None if attach is None else attach.data_dir, say=say,
        )
    )  # fmt: skip
    verdict = result.verdict
    counts = _counts(result.history.ops)
    done = ", ".join(f"{f.kind} {f.target}" for f in result.faults) or "none"
    summary = "\n".join(
        [
            f"preset {preset.name} (acks={preset.acks}, {_configs(preset.topic_configs)}"
            f"{_producer(preset)}), "
            f"seed {args.seed}, {args.time_s:g} s, {args.clients} clients, "
            f"nemesis {'+'.join(faults)}",
            f"Kafka's rules say it {preset.expect}",
            f"{counts}; faults: {done}; {result.answers_lost} answers to clients lost, "
            f"{_retried(result.retried_batches)}",
            "" if result.final_reads_done else "WARNING: the final reads did not catch up",
            verdict.describe(),
        ]
    )
    report = Path(args.report)
    write_report(report, f"reflog chaos: {preset.name}, seed {args.seed}", summary,
                 result.history, result.faults, verdict.anomalies)  # fmt: skip
    print(summary)
    print(f"report: {report}")
    return 0 if verdict.valid else ANOMALIES_FOUND


def _retried(batches: int | None) -> str:
    return "retries not counted" if batches is None else f"{batches} batches retried"


def _producer(preset: Preset) -> str:
    if preset.retries == 0:
        return ", retries=0"
    idempotence = str(preset.enable_idempotence).lower()
    return f", retries={preset.retries}, enable.idempotence={idempotence}"


def _configs(configs: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in configs.items())


def _counts(ops: tuple[Op, ...]) -> str:
    sends = [op for op in ops if isinstance(op, Send)]
    by = {o: sum(1 for s in sends if s.outcome is o) for o in Outcome}
    polled = sum(len(op.records) for op in ops if isinstance(op, Poll))
    return (
        f"{len(sends)} sends ({by[Outcome.OK]} acknowledged, {by[Outcome.FAIL]} refused, "
        f"{by[Outcome.INFO]} indeterminate), {polled} records polled"
    )
