"""Finishing the SFTP tree's copies that a killed process left unwritten (domain/production_tree.py).

Every instance looks, every `LEDGERLINE_PRODUCTION_CHECK_S`, at versions recorded more than that long
ago and still unpublished. The normal path (service/rendering.py) has copied almost all of them already:
those are only checked (the files' hashes) and marked. A missing or different copy of the latest version
is written again under the document's lock, so a newer version committing meanwhile cannot be put
under an older one's files; an older version is marked, as its copy is the latest's job.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import structlog

from ledgerline_rendering.adapters.document_files import DocumentFileWriter
from ledgerline_rendering.service.unit_of_work import RenderingUnitOfWork

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class CopiesChecked:
    checked: int
    rewritten: int


async def publish_missed_copies(
    uow: RenderingUnitOfWork,
    writer: DocumentFileWriter,
    *,
    now: dt.datetime,
    settle: dt.timedelta,
    limit: int = 500,
) -> CopiesChecked:
    """Check (and if need be rewrite) the production copies of versions recorded before `now - settle`."""
    async with uow:
        pending = await uow.documents.unpublished(now - settle, limit)
    in_place: list[tuple[str, int]] = []
    rewritten = 0
    for version in pending:
        if version.superseded or writer.production_matches(version.copies()):
            in_place.append((version.key, version.version))
            continue
        async with uow:
            latest = await uow.locks.lock_recorded(version.key)
            if latest == version.version:
                writer.copy_to_production(version.copies())
                rewritten += 1
                log.warning("production copy rewritten", document=version.number, version=version.version)
            await uow.documents.mark_published([(version.key, version.version)], now)
            await uow.commit()
    if in_place:
        async with uow:
            await uow.documents.mark_published(in_place, now)
            await uow.commit()
    return CopiesChecked(len(pending), rewritten)
