"""``reflog consumer-groups``: list and describe consumer groups, reset their offsets.

The options and the printed tables are those of Kafka's ``kafka-consumer-groups.sh``::

    reflog consumer-groups --bootstrap-server HOST:PORT --list
    reflog consumer-groups --bootstrap-server HOST:PORT --describe --group G
        [--members [--verbose] | --state]
    reflog consumer-groups --bootstrap-server HOST:PORT --reset-offsets --group G
        (--topic T | --all-topics) (--to-earliest | --to-latest | --to-offset N) [--execute]

``--describe`` prints, per partition, the committed offset (CURRENT-OFFSET), the log end
(LOG-END-OFFSET), the lag between them, and the member that owns it. Offsets are reset only
while the group has no members (Kafka refuses otherwise), and only with ``--execute``;
without it the command shows what it would commit.
"""

from __future__ import annotations

import argparse
import sys

from reflog.cli.client_runs import bootstrap_arg, error_name, no_answer, run_core
from reflog.cli.commands import CliError, Subparsers
from reflog.client.network import NETWORK_EXCEPTION
from reflog.consumer.group_admin import (
    EARLIEST,
    LATEST,
    GroupAdmin,
    GroupDescription,
    MemberDescription,
)
from reflog.net.client import now_ms
from reflog.topic_partition import TopicPartition
from reflog.wire.errors import ErrorCode

__all__ = ["register"]

MISSING = "-"  # Kafka's MISSING_COLUMN_VALUE


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "consumer-groups", help="list and describe consumer groups, reset their offsets"
    )
    p.add_argument("--bootstrap-server", required=True, help="HOST:PORT of a broker")
    action = p.add_mutually_exclusive_group(required=True)
    action.add_argument("--list", action="store_true", help="list all consumer groups")
    action.add_argument("--describe", action="store_true", help="describe a group")
    action.add_argument("--reset-offsets", action="store_true", help="reset a group's offsets")
    p.add_argument("--group", help="the consumer group")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--offsets", action="store_true", help="describe: offsets (default)")
    shown.add_argument("--members", action="store_true", help="describe: the members")
    shown.add_argument("--state", action="store_true", help="describe: the group's state")
    p.add_argument("--verbose", action="store_true", help="--members: with assignments")
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--topic", action="append", help="reset: this topic (may repeat)")
    scope.add_argument("--all-topics", action="store_true", help="reset: every topic")
    to = p.add_mutually_exclusive_group()
    to.add_argument("--to-earliest", action="store_true", help="reset to the log start")
    to.add_argument("--to-latest", action="store_true", help="reset to the log end")
    to.add_argument("--to-offset", type=int, metavar="N", help="reset to offset N")
    run_mode = p.add_mutually_exclusive_group()
    run_mode.add_argument("--execute", action="store_true", help="reset: do it")
    run_mode.add_argument("--dry-run", action="store_true", help="reset: only show (default)")
    p.add_argument("--timeout", type=int, default=5_000, help="ms to wait for answers")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    admin = GroupAdmin(bootstrap_arg(args.bootstrap_server))
    if args.list:
        admin.list_groups(now_ms())
    else:
        if not args.group:
            raise CliError(f"{'--describe' if args.describe else '--reset-offsets'} needs --group")
        if args.describe:
            admin.describe(args.group, now_ms())
        else:
            admin.reset_offsets(args.group, *_reset_plan(args), now_ms())
    runner = run_core(admin, lambda: admin.result is not None, args.timeout / 1000, "the brokers")
    result = admin.result
    assert result is not None
    if result.error_code == NETWORK_EXCEPTION:
        raise no_answer(runner, "NETWORK_EXCEPTION: the broker closed the connection")
    if result.error_code == ErrorCode.NON_EMPTY_GROUP:
        raise CliError(f"Error: {result.message}")
    if result.error_code != ErrorCode.NONE:
        name = error_name(result.error_code)
        raise CliError(f"{name}: {result.message}" if result.message else name)
    if args.list:
        for group in result.groups:
            print(group)
        return 0
    description = result.description
    assert description is not None
    if args.reset_offsets:
        if not args.execute:
            print(
                "WARN: No action will be performed as the --execute option is missing.",
                file=sys.stderr,
            )
        _print_new_offsets(description.group_id, result.new_offsets)
    elif args.members:
        _print_members(description, args.verbose)
    elif args.state:
        _print_state(description)
    else:
        _print_offsets(description)
    return 0


def _reset_plan(args: argparse.Namespace) -> tuple[list[str], int, bool]:
    if not (args.topic or args.all_topics):
        raise CliError("--reset-offsets needs --topic or --all-topics")
    if args.to_offset is not None:
        if args.to_offset < 0:
            raise CliError("--to-offset must not be negative")
        to = args.to_offset
    elif args.to_earliest:
        to = EARLIEST
    elif args.to_latest:
        to = LATEST
    else:
        raise CliError("--reset-offsets needs --to-earliest, --to-latest or --to-offset")
    return list(args.topic or []), to, bool(args.execute)


def _table(widths: list[int], rows: list[list[str]]) -> None:
    """Rows as Kafka prints them: each column left-aligned in its width (the last one
    free), one space between; a blank line first."""
    print()
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print(" ".join(cells + row[len(widths) :]))


def _width(floor: int, cells: list[str]) -> int:
    return max([floor, *map(len, cells)])


def _check_exists(description: GroupDescription) -> None:
    """Kafka's ``shouldPrintMemberState``: says why a group shows no members."""
    group = description.group_id
    if description.state == "Dead":
        raise CliError(f"Error: Consumer group '{group}' does not exist.")
    if description.state == "Empty":
        print(f"\nConsumer group '{group}' has no active members.", file=sys.stderr)
    elif description.state in ("PreparingRebalance", "CompletingRebalance"):
        print(f"\nWarning: Consumer group '{group}' is rebalancing.", file=sys.stderr)


def _print_offsets(description: GroupDescription) -> None:
    _check_exists(description)
    rows = []
    for p in description.partitions:
        owner = p.owner
        rows.append(
            [
                description.group_id,
                p.tp.topic,
                str(p.tp.partition),
                MISSING if p.committed is None else str(p.committed),
                MISSING if p.log_end is None else str(p.log_end),
                MISSING if p.lag is None else str(p.lag),
                MISSING if owner is None else owner.member_id,
                MISSING if owner is None else owner.host or MISSING,
                MISSING if owner is None else owner.client_id,
            ]
        )
    widths = [
        _width(15, [description.group_id]),
        _width(15, [row[1] for row in rows]),
        10,
        15,
        15,
        15,
        _width(15, [row[6] for row in rows]),
        _width(15, [row[7] for row in rows]),
    ]
    header = [
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ]
    _table(widths, [header, *rows])


def _assignment_text(assignment: tuple[TopicPartition, ...]) -> str:
    """Kafka's ``t1(0,1),t2(3)``, or ``-`` for none."""
    by_topic: dict[str, list[int]] = {}
    for tp in sorted(assignment):
        by_topic.setdefault(tp.topic, []).append(tp.partition)
    text = ",".join(f"{t}({','.join(map(str, ps))})" for t, ps in sorted(by_topic.items()))
    return text or MISSING


def _print_members(description: GroupDescription, verbose: bool) -> None:
    _check_exists(description)
    members: list[MemberDescription] = description.members
    rows = [
        [
            description.group_id,
            m.member_id,
            m.group_instance_id or MISSING,
            m.host or MISSING,
            m.client_id,
            str(len(m.assignment)),
            _assignment_text(m.assignment),
        ]
        for m in members
    ]
    header = [
        "GROUP",
        "CONSUMER-ID",
        "GROUP-INSTANCE-ID",
        "HOST",
        "CLIENT-ID",
        "#PARTITIONS",
        "ASSIGNMENT",
    ]
    keep = [0, 1, 2, 3, 4, 5, 6] if verbose else [0, 1, 3, 4, 5]
    table = [[row[i] for i in keep] for row in [header, *rows]]
    widths = [_width(15, [row[i] for row in table[1:]] or [""]) for i in range(len(keep) - 1)]
    _table(widths, table)


def _print_state(description: GroupDescription) -> None:
    _check_exists(description)
    coordinator = description.coordinator or MISSING
    rows = [
        ["GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"],
        [
            description.group_id,
            coordinator,
            description.protocol or MISSING,
            description.state,
            str(len(description.members)),
        ],
    ]
    _table([_width(15, [description.group_id]), _width(25, [coordinator]), 20, 20], rows)


def _print_new_offsets(group_id: str, offsets: dict[TopicPartition, int]) -> None:
    if not offsets:
        return
    print()
    row = "{:<30} {:<30} {:<10} {:<15}"
    print(row.format("GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"))
    for tp, offset in sorted(offsets.items()):
        print(row.format(group_id, tp.topic, tp.partition, offset))
