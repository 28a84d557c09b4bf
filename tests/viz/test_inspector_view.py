"""The inspector's notebook table: filters, escaping, and controls that act on the live proxy."""

from __future__ import annotations

import asyncio
import dataclasses
import struct

from reflog.inspect import WireEvent
from reflog.viz.inspector import STORED_TEXT, EventFilter, InspectorView, matching, table_html
from reflog.wire.messages.metadata import MetadataRequest, MetadataResponse
from tests.inspect.test_conversation import request_frame, response_frame
from tests.inspect.test_proxy import ScriptedBroker, correlation_id, read_frame, until


def event(api: str, direction: str = "request", **fields: object) -> WireEvent:
    base = WireEvent(1, direction, 0.0, 0, api, 7, 1, "client", 10)  # type: ignore[arg-type]
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def test_filters_pick_api_direction_text_and_trouble() -> None:
    events = [
        event("Produce", summary="t/p0:{records=3 at 0..2}"),
        event("Produce", "response", errors=("NOT_LEADER_OR_FOLLOWER",)),
        event("Fetch", summary="t/p1:{fetch_offset=4}"),
        event("Metadata", fault="dropped"),
    ]
    assert matching(events, EventFilter(api="Produce"), 10) == events[:2]
    assert matching(events, EventFilter(direction="response"), 10) == [events[1]]
    assert matching(events, EventFilter(text="T/P1"), 10) == [events[2]]
    assert matching(events, EventFilter(only_trouble=True), 10) == [events[1], events[3]]
    assert matching(events, EventFilter(), 2) == events[2:]


def test_the_table_escapes_what_came_off_the_wire() -> None:
    page = table_html([event("Produce", client_id="<script>x</script>")])
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_the_view_shows_a_live_conversation_and_its_drop_control_drops() -> None:
    def answer(frame: bytes) -> bytes:
        return response_frame(MetadataResponse(), 3, 4, correlation_id(frame))

    async def scenario() -> None:
        broker = ScriptedBroker(answer)
        await broker.start()
        view = InspectorView(f"{broker.address[0]}:{broker.address[1]}")
        host, port = (await view.start()).rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))

        def send(correlation: int) -> None:
            frame = request_frame(MetadataRequest(topics=None), 4, correlation_id=correlation)
            writer.write(struct.pack(">i", len(frame)) + frame)

        send(1)
        await asyncio.wait_for(read_frame(reader), 5)
        await until(lambda: "Metadata v4" in view.table.value)  # drawn by the view's refresh
        assert view.table.value.count("<tr style") == 2  # the request and its response
        assert list(view.api.options) == ["all", "Metadata"]
        view.direction.value = "response"
        assert view.table.value.count("<tr style") == 1
        view.drop.value = "Metadata"  # the control sets the running inspector's faults
        send(2)
        send(3)
        await asyncio.wait_for(read_frame(reader), 5)
        assert [correlation_id(f) for f in broker.received] == [1, 3]
        view.direction.value = "all"
        view.only_trouble.value = True
        await until(lambda: "dropped" in view.table.value)
        assert view.table.value.count("<tr style") == 1
        writer.close()
        await view.close()

    asyncio.run(scenario())


def test_a_displayed_view_stores_its_table_beside_the_live_widget() -> None:
    """What a notebook keeps for readers without a kernel: the rows shown when displayed."""
    view = InspectorView("127.0.0.1:9092")
    view.events.extend([event("Produce", summary="t/p0:{records=3 at 0..2}"), event("Fetch")])
    bundle = view.only("Produce")._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == STORED_TEXT
    stored = bundle["text/html"]
    assert isinstance(stored, str)
    assert stored.count("<tr style") == 1 and "records=3 at 0..2" in stored
    assert stored == view.table.value  # the live table shows the same rows
