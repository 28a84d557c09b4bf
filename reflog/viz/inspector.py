"""The protocol inspector in a notebook: a live, filterable table of what clients and a broker
say to each other.

``InspectorView(upstream)`` runs :class:`reflog.inspect.Inspector` on the kernel's event loop in
front of ``upstream`` (a broker's ``HOST:PORT``, e.g. one of a ``LocalCluster``'s); point any
Kafka client at :attr:`InspectorView.bootstrap` and each request and response appears as a row.
Filters pick an API, a direction, errors or faults only, or any text in the row; drop and delay
controls set the inspector's faults while it runs.

It is not a :class:`~reflog.viz.controls.TimelineView`: a conversation is a log of real events
as they happen, not snapshots of a simulation to scrub through; the table keeps the latest
``max_rows`` rows that pass the filters, and "clear" empties it. Displayed, the view is its live
widget with, beside it, the table as it stood then (HTML): what a notebook stores for readers
without a kernel, as the timeline views store a static figure.
"""

from __future__ import annotations

import asyncio
import html
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import ipywidgets as widgets

from reflog.inspect import Faults, Inspector, WireEvent
from reflog.inspect.api_names import KAFKA_API_NAMES
from reflog.net.client import parse_bootstrap

__all__ = ["STORED_TEXT", "EventFilter", "InspectorView", "matching", "table_html"]

ALL = "all"
REFRESH_S = 0.1  # rows arriving closer together than this are drawn together
# A displayed view's plain-text form: what a front end without HTML or widgets shows.
STORED_TEXT = "A live inspector table: run the notebook to use it (a copy of the table is stored)."


@dataclass(frozen=True)
class EventFilter:
    api: str = ALL  # an API name, or "all"
    direction: str = ALL  # "request", "response" or "all"
    text: str = ""  # a substring of the row's line, any case
    only_trouble: bool = False  # only rows with an error code, a problem or a fault

    def passes(self, event: WireEvent) -> bool:
        if self.api != ALL and event.api != self.api:
            return False
        if self.direction != ALL and event.direction != self.direction:
            return False
        if self.only_trouble and not (event.errors or event.problem or event.fault):
            return False
        return self.text.lower() in event.line().lower()


def matching(events: Iterable[WireEvent], keep: EventFilter, max_rows: int) -> list[WireEvent]:
    """The last ``max_rows`` events that pass ``keep``, oldest first."""
    rows = [e for e in events if keep.passes(e)]
    return rows[-max_rows:]


_COLUMNS = ("t (s)", "conn", "", "API", "#", "client", "ms", "what it says", "")


def table_html(rows: Sequence[WireEvent]) -> str:
    """An HTML table of ``rows``; every value escaped (client ids and topics come off the wire)."""
    head = "".join(f"<th style='text-align:left'>{c}</th>" for c in _COLUMNS)
    body = "".join(_row_html(e) for e in rows)
    return (
        "<div style='max-height:420px;overflow-y:auto;font-family:monospace;font-size:12px;"
        "line-height:1.35'>"
        f"<table style='border-collapse:collapse'><tr>{head}</tr>{body}</table></div>"
    )


def _row_html(e: WireEvent) -> str:
    trouble = bool(e.errors or e.problem or e.fault)
    colour = "#fde8e8" if trouble else ("#eef4fb" if e.direction == "request" else "#ffffff")
    cells = (
        f"{e.at_ms / 1000:.3f}",
        str(e.connection),
        "→" if e.direction == "request" else "←",
        f"{e.api} v{e.api_version}",
        str(e.correlation_id),
        e.client_id or "",
        "" if e.rtt_ms is None else f"{e.rtt_ms:.1f}",
        e.summary or e.problem,
        " ".join(x for x in (e.fault, e.problem if e.summary else "") if x),
    )
    # Left and top, as a log reads (JupyterLab's own table style aligns cells right); only
    # the last two columns (what it says, the fault) wrap.
    style = "padding:1px 6px;text-align:left;vertical-align:top"
    tds = "".join(
        f"<td style='{style}{'' if i >= len(cells) - 2 else ';white-space:nowrap'}'>"
        f"{html.escape(c)}</td>"
        for i, c in enumerate(cells)
    )
    return f"<tr style='background:{colour}'>{tds}</tr>"


class InspectorView:
    """In a notebook cell (the kernel's loop is running)::

    view = InspectorView(cluster.bootstrap_servers.split(",")[0])
    await view.start()
    view  # the live table; clients bootstrap from view.bootstrap
    """

    def __init__(
        self,
        upstream: str,
        *,
        listen: tuple[str, int] = ("127.0.0.1", 0),
        max_rows: int = 200,
        max_events: int = 20_000,
    ) -> None:
        [address] = parse_bootstrap(upstream)
        self.faults = Faults()
        # The conversation so far, up to max_events (older ones go: a notebook may run for hours).
        self.events: deque[WireEvent] = deque(maxlen=max_events)
        self.max_rows = max_rows
        self.inspector = Inspector(listen, address, self._seen, faults=self.faults)
        self._refresh: asyncio.Handle | None = None
        self.api = widgets.Dropdown(options=[ALL], value=ALL, description="API")
        self.direction = widgets.ToggleButtons(
            options=[ALL, "request", "response"], value=ALL, description="show"
        )
        self.text = widgets.Text(placeholder="topic, member id, error…", description="filter")
        self.only_trouble = widgets.Checkbox(description="errors and faults only", value=False)
        self.drop = widgets.Dropdown(
            options=["nothing", *sorted(KAFKA_API_NAMES.values())], value="nothing",
            description="drop next",
        )  # fmt: skip
        self.delay = widgets.IntSlider(value=0, min=0, max=5_000, step=100, description="delay ms")
        self.clear = widgets.Button(description="clear", icon="trash")
        self.status = widgets.HTML()
        self.table = widgets.HTML(table_html([]))
        for control in (self.api, self.direction, self.text, self.only_trouble):
            control.observe(lambda _: self.draw(), names="value")
        self.drop.observe(lambda change: self._drop_next(change["new"]), names="value")
        self.delay.observe(lambda change: self._set_delay(change["new"]), names="value")
        self.clear.on_click(lambda _: self._clear())
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.api, self.direction]),
                widgets.HBox([self.text, self.only_trouble, self.clear]),
                widgets.HBox([self.drop, self.delay]),
                self.status,
                self.table,
            ]
        )

    @property
    def bootstrap(self) -> str:
        host, port = self.inspector.address
        return f"{host}:{port}"

    async def start(self) -> str:
        await self.inspector.start()
        self.draw()
        return self.bootstrap

    async def close(self) -> None:
        await self.inspector.close()

    @property
    def filter(self) -> EventFilter:
        return EventFilter(
            self.api.value, self.direction.value, self.text.value, self.only_trouble.value
        )

    def draw(self) -> None:
        self._refresh = None
        rows = matching(self.events, self.filter, self.max_rows)
        self.table.value = table_html(rows)
        apis = sorted({e.api for e in self.events})
        if list(self.api.options) != [ALL, *apis]:
            self.api.options = [ALL, *apis]
        where = self.bootstrap if self.inspector.routes else "not started"
        self.status.value = (
            f"clients bootstrap from <b>{where}</b>; {len(self.events)} messages, {len(rows)} shown"
        )

    def _seen(self, event: WireEvent) -> None:
        self.events.append(event)
        if self._refresh is None:
            self._refresh = asyncio.get_running_loop().call_later(REFRESH_S, self.draw)

    def only(self, api: str) -> InspectorView:
        """Show one API's rows (one the conversation has had) and return the view, so that a
        cell can end with ``view.only("Produce")``."""
        self.draw()  # the API filter offers the APIs seen so far
        self.api.value = api
        return self

    def _drop_next(self, name: str) -> None:
        self.faults.drop.clear()
        if name != "nothing":
            key = next(k for k, n in KAFKA_API_NAMES.items() if n == name)
            self.faults.drop[key] = 1

    def _set_delay(self, delay_ms: int) -> None:
        self.faults.delay_ms = delay_ms

    def _clear(self) -> None:
        self.events.clear()
        self.draw()

    def _repr_mimebundle_(self, **kwargs: object) -> dict[str, object]:
        """A cell ending with the view shows the live table where a kernel runs, and the table
        as it stands now otherwise (a stored notebook drops the widget's reference)."""
        self.draw()
        bundle: dict[str, object] = {"text/html": self.table.value}
        bundle.update(self.widget._repr_mimebundle_(**kwargs))
        bundle["text/plain"] = STORED_TEXT
        return bundle
