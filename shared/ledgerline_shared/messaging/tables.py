"""The messaging tables every service keeps in its own database (and its own Alembic history)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, MetaData, String, Table, Text


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    processed: Table
    dead_letters: Table
    parked_outbox: Table


PARKED_OUTBOX = "parked_outbox"


def parked_outbox_columns() -> list[Column[object]]:
    """An outbox row that can never be published (too large, cannot be serialised), moved aside
    with its error so the relay goes on; fresh Column objects, for the table and its migrations."""
    return [
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),  # the outbox id
        Column("ce_id", String(36), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(200), nullable=True),
        Column("headers", Text, nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("error", Text, nullable=False),
        Column("parked_at", DateTime(timezone=True), nullable=False),
    ]


def define_messaging_tables(metadata: MetaData) -> MessagingTables:
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("ce_id", String(36), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(200), nullable=True),
        Column("headers", Text, nullable=False),  # JSON [[name, value], ...]
        Column("payload", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("sent_at", DateTime(timezone=True), nullable=True),
        Index("ix_outbox_unsent", "sent_at", "id"),
    )
    # The idempotent consumer's memory: a ce_id recorded here in the same transaction as its effect.
    processed = Table(
        "processed_events",
        metadata,
        Column("consumer", String(200), primary_key=True),
        Column("ce_id", String(200), primary_key=True),
        Column("topic", String(200), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    )
    dead_letters = Table(
        "dead_letters",
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("consumer", String(200), nullable=False),
        Column("topic", String(200), nullable=False),
        Column("partition", Integer, nullable=False),
        Column("offset", BigInteger, nullable=False),
        Column("ce_id", String(200), nullable=True),
        Column("key", Text, nullable=True),
        Column("headers", Text, nullable=False),
        Column("payload", Text, nullable=False),
        Column("error", Text, nullable=False),
        Column("failed_at", DateTime(timezone=True), nullable=False),
        Column("replayed_at", DateTime(timezone=True), nullable=True),
    )
    parked_outbox = Table(PARKED_OUTBOX, metadata, *parked_outbox_columns())
    return MessagingTables(outbox, processed, dead_letters, parked_outbox)
