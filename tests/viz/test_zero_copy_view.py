"""The zero-copy view draws the recorded byte counters: per broker at the moment shown,
totals over the run; its buttons act on a real in-process cluster and go live first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from reflog.net.local_cluster import LocalCluster
from reflog.sim.timeline import Timeline
from reflog.viz.zero_copy import (
    MB,
    BrokerBytes,
    FetchTiming,
    ZeroCopyRun,
    ZeroCopySample,
    ZeroCopyView,
    comparison_figure,
    counters_figure,
    describe_history,
    draw_sample,
    leaders_of,
    timed_fetch,
)


@asynccontextmanager
async def started_run(data_dir: Path) -> AsyncIterator[ZeroCopyRun]:
    """A 3-broker cluster in this process with topic "t" (3 partitions, 3 replicas), and a
    started run on it (``run.cluster``); the cluster stops afterwards."""
    cluster = LocalCluster(brokers=3, data_dir=data_dir)
    await cluster.start()
    try:
        await cluster.create_topic("t", 3, 3)
        run = ZeroCopyRun(cluster, "t")
        await run.start()
        yield run
    finally:
        await cluster.stop()


def sample(at_ms: int, *per_broker: tuple[int, int, int], action: str = "") -> ZeroCopySample:
    brokers = tuple(BrokerBytes(i, *counts) for i, counts in enumerate(per_broker, start=1))
    return ZeroCopySample(at_ms, brokers, 0, 0, True, action)


def test_the_last_action_is_drawn_per_broker_and_the_totals_up_to_the_moment_shown() -> None:
    figure = counters_figure()
    first = sample(0, (0, 0, 0), (0, 0, 0))
    second = sample(1_000, (0, 4 * MB, 0), (0, 2 * MB, 0), action="produced")
    third = sample(2_500, (2 * MB, 4 * MB, 0), (1 * MB, 2 * MB, 3 * MB), action="consumed")
    draw_sample(figure, second, iter([first, second]))
    consumer, follower, copied = figure.data[:3]
    assert list(consumer.x) == ["broker 1", "broker 2"]
    assert list(consumer.y) == [0, 0] and list(follower.y) == [4, 2] and list(copied.y) == [0, 0]
    totals = figure.data[3:]
    assert list(totals[1].x) == [0, 1.0] and list(totals[1].y) == [0, 6]
    assert figure.layout.shapes[0].x0 == 1.0  # the moment shown, marked on the history
    draw_sample(figure, third, iter([first, second, third]))
    # Left: what the action between the second and third samples sent (followers: nothing).
    assert list(figure.data[0].y) == [2, 1] and list(figure.data[2].y) == [0, 3]
    assert list(figure.data[1].y) == [0, 0]
    assert list(totals[2].y) == [0, 0, 3] and figure.layout.barmode == "stack"


def test_the_history_names_what_grew_after_each_action() -> None:
    timeline: Timeline[ZeroCopySample] = Timeline()
    timeline.append(sample(0, (0, 0, 0), action="started"))
    timeline.append(sample(1, (0, 10, 0), action="produced 10 MB"))
    timeline.append(sample(2, (5, 10, 0), action="consumed all"))
    timeline.append(sample(3, (5, 10, 7), action="fetched by read-then-send"))
    lines = describe_history(timeline).splitlines()
    assert [line.split()[-1] for line in lines] == ["-", "followers", "clients", "copied"]


def test_the_bytes_to_clients_count_the_timed_fetches_with_the_consumer_and_say_so(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with started_run(tmp_path) as run:
            await run.produce(1)
            await run.consume_all()
            consumed = run.timeline.latest
            cluster = run.cluster
            addresses = {
                p: ("127.0.0.1", cluster.brokers[leader].port)
                for p, leader in leaders_of(cluster, "t").items()
            }
            await timed_fetch(addresses, "t", rounds=2)
            fetched = run.record("timed fetches")
            # The brokers cannot tell the consumer's fetches from the timed ones: the total grows
            # by the topic twice more while what the consumer consumed stays the same.
            assert fetched.consumed_bytes == consumed.consumed_bytes
            assert fetched.total("consumer") >= consumed.total("consumer") + 2 * MB
            await run.close()

    asyncio.run(scenario())
    legend = [trace.name for trace in counters_figure().data if trace.showlegend is not False]
    assert "to clients (the consumer, timed fetches), by sendfile" in legend


def test_the_comparison_puts_each_measure_on_its_own_axis() -> None:
    timings = {
        "sendfile": FetchTiming(bytes(MB), rounds=2, seconds=0.002, broker_cpu_seconds=0.001),
        "read then send": FetchTiming(bytes(MB), 2, seconds=0.004, broker_cpu_seconds=0.003),
    }
    figure = comparison_figure(timings, {"sendfile": 0, "read then send": 2 * MB})
    assert [bar.yaxis for bar in figure.data] == ["y", "y2", "y3"]
    assert list(figure.data[0].y) == [1000, 500]  # MB/s
    assert list(figure.data[1].y) == [0.5, 1.5]  # CPU ms per MB
    assert list(figure.data[2].y) == [0, 2]  # MB copied into Python


def test_the_view_s_buttons_act_on_the_cluster_and_a_press_while_scrubbed_goes_live(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with started_run(tmp_path) as run:
            view = ZeroCopyView(run, produce_mb=1)
            follower_bars = view.figure.data[1]
            assert list(follower_bars.y) == [0, 0, 0]

            async def press(button: str) -> None:
                recorded = len(run.timeline)
                view.buttons[button].click()
                await wait_for(lambda: len(run.timeline) > recorded)

            await press("produce")
            assert all(y > 0 for y in follower_bars.y)  # followers fetched by sendfile
            assert list(view.figure.data[0].y) == [0, 0, 0]
            assert view.figure.data[4].y[-1] > 0  # the running total of follower bytes
            view.controls.slider.value = 0  # scrub back to the start
            await wait_for(lambda: view.shown is run.timeline[0])  # drawn once the drag is answered
            assert not view.controls.following and list(follower_bars.y) == [0, 0, 0]
            await press("consume")
            assert view.controls.following and view.shown is run.timeline.latest
            assert all(y > 0 for y in view.figure.data[0].y)  # the consumer, by sendfile
            assert list(follower_bars.y) == [0, 0, 0]  # nothing new to replicate
            view.buttons["copy"].click()  # the brokers switch to read-then-send
            assert not run.zero_copy and view.buttons["copy"].description == "serve by sendfile"
            await press("produce")
            await press("consume")
            assert all(y > 0 for y in view.figure.data[2].y)  # now copied through Python
            assert list(view.figure.data[0].y) == [0, 0, 0]  # and not sent by sendfile
            # Stored for a reader without a kernel: one frame per sample, the last one shown.
            static = view.static_figure()
            assert len(static.frames) == len(run.timeline)
            assert list(static.data[2].y) == pytest.approx(list(view.figure.data[2].y), abs=1e-3)
            assert "application/vnd.plotly.v1+json" in view._repr_mimebundle_()
            await run.close()
            # Stopped: the buttons say so instead of doing nothing; the slider still scrubs.
            assert view.buttons["produce"].disabled and view.controls.play_button.disabled
            assert "the cluster is stopped" in view.status.value
            view.controls.slider.value = 1
            await wait_for(lambda: view.shown is run.timeline[1])
            assert list(view.figure.data[0].y) == [0, 0, 0]

    asyncio.run(scenario())


def test_playing_streams_records_through_the_cluster_until_paused(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with started_run(tmp_path) as run:
            run.play(speed=2)  # 2 MB/s: 1 MB every half-second frame
            await wait_for(lambda: run.consumed_bytes >= 2 * MB)
            run.pause()
            await run.close()  # waits for the frame under way
            last = run.timeline.latest
            assert not run.playing and run.consumed_bytes == run.produced_bytes
            assert last.total("consumer") > 2 * MB and last.total("follower") > 4 * MB
            assert last.total("copied") == 0

    asyncio.run(scenario())


async def wait_for(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)  # a poll interval; the deadline decides
