"""CloudEvents 1.0 in Kafka binary mode: attributes travel as `ce_*` headers, the value is the data."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
CORRELATION_HEADER = "ce_correlationid"  # an extension attribute carried from hop to hop
# The CloudEvents distributed-tracing extension: W3C Trace Context of the transaction that emitted it.
TRACEPARENT_HEADER = "ce_traceparent"
TRACESTATE_HEADER = "ce_tracestate"


@dataclass(frozen=True)
class Envelope:
    id: str
    source: str
    type: str  # the topic name
    time: dt.datetime
    subject: str | None = None
    correlation_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    traceparent: str | None = None
    tracestate: str | None = None

    @classmethod
    def new(
        cls,
        *,
        source: str,
        type: str,
        subject: str | None = None,
        correlation_id: str | None = None,
        trace: Mapping[str, str] | None = None,
    ) -> Envelope:
        """`trace`: the W3C carrier (traceparent, tracestate) of the emitting transaction, if any."""
        event_id = str(uuid.uuid4())
        trace = trace or {}
        return cls(
            id=event_id,
            source=source,
            type=type,
            time=dt.datetime.now(dt.UTC),
            subject=subject,
            correlation_id=correlation_id or event_id,
            traceparent=trace.get("traceparent") or None,
            tracestate=trace.get("tracestate") or None,
        )

    def trace_carrier(self) -> dict[str, str]:
        """The W3C Trace Context the event carries, as HTTP-style headers ({} when it carries none)."""
        out = {"traceparent": self.traceparent} if self.traceparent else {}
        if self.traceparent and self.tracestate:
            out["tracestate"] = self.tracestate
        return out

    def headers(self) -> list[tuple[str, bytes]]:
        out = [
            ("ce_specversion", SPECVERSION.encode()),
            ("ce_id", self.id.encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_time", self.time.isoformat().encode()),
            ("content-type", CONTENT_TYPE.encode()),
        ]
        if self.subject is not None:
            out.append(("ce_subject", self.subject.encode()))
        if self.correlation_id:
            out.append((CORRELATION_HEADER, self.correlation_id.encode()))
        if self.traceparent:
            out.append((TRACEPARENT_HEADER, self.traceparent.encode()))
            if self.tracestate:
                out.append((TRACESTATE_HEADER, self.tracestate.encode()))
        out.extend((k, v.encode()) for k, v in self.extra.items())
        return out


class NotACloudEvent(ValueError):
    pass


def decode_headers(raw: Sequence[tuple[str, bytes]] | Mapping[str, bytes | str]) -> dict[str, str]:
    items = raw.items() if isinstance(raw, Mapping) else raw
    return {k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)) for k, v in items}


def parse_envelope(headers: Mapping[str, str]) -> Envelope:
    missing = [h for h in ("ce_specversion", "ce_id", "ce_source", "ce_type") if not headers.get(h)]
    if missing:
        raise NotACloudEvent(f"missing CloudEvents headers: {', '.join(missing)}")
    if headers["ce_specversion"] != SPECVERSION:
        raise NotACloudEvent(f"unsupported ce_specversion {headers['ce_specversion']!r}")
    raw_time = headers.get("ce_time")
    try:
        time = dt.datetime.fromisoformat(raw_time) if raw_time else dt.datetime.now(dt.UTC)
    except ValueError as exc:
        raise NotACloudEvent(f"ce_time is not ISO 8601: {raw_time!r}") from exc
    return Envelope(
        id=headers["ce_id"],
        source=headers["ce_source"],
        type=headers["ce_type"],
        time=time,
        subject=headers.get("ce_subject"),
        correlation_id=headers.get(CORRELATION_HEADER) or headers["ce_id"],
        # Not validated here: a malformed traceparent starts a new trace (tracing.extract), it never
        # refuses the event.
        traceparent=headers.get(TRACEPARENT_HEADER) or None,
        tracestate=headers.get(TRACESTATE_HEADER) or None,
    )
