"""Export's unit of work: one transaction over its read model, its jobs and its SFTP logins.

Entrypoints build it: the HTTP API and the job runner from the runtime's session factories, a Kafka
subscriber with `joining` inside the idempotent consumer's transaction. Export's only event,
`export.completed`, is emitted by a finished job through it.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_export.adapters.export_job_repository import ExportJobRepository
from ledgerline_export.adapters.issued_documents import IssuedDocumentRepository
from ledgerline_export.adapters.sftp_account_repository import SftpAccountRepository
from ledgerline_export.adapters.sftp_login_log import SftpLoginLog
from ledgerline_shared.unit_of_work import UnitOfWork


class ExportUnitOfWork(UnitOfWork):
    documents: IssuedDocumentRepository  # the read model of issued documents
    jobs: ExportJobRepository
    sftp_accounts: SftpAccountRepository
    sftp_logins: SftpLoginLog  # the audit log of login attempts

    def _open(self, session: AsyncSession) -> None:
        self.documents = IssuedDocumentRepository(session)
        self.jobs = ExportJobRepository(session)
        self.sftp_accounts = SftpAccountRepository(session)
        self.sftp_logins = SftpLoginLog(session)


# Long-lived workers (the job runner, the SFTP server, a file writer's page feed) open one unit of
# work per transaction, possibly several at once: they are handed a factory.
NewUnitOfWork = Callable[[], ExportUnitOfWork]
