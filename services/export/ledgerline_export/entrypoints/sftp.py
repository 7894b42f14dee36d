"""The SFTP server as part of the service's lifecycle: started with it, stopped with it."""

from __future__ import annotations

import asyncssh

from ledgerline_export.adapters.sftp_server import start_sftp_server, stop_sftp_server
from ledgerline_export.config import ExportSettings
from ledgerline_export.domain.sftp_credentials import CredentialRecord
from ledgerline_export.entrypoints.units_of_work import reading, writing
from ledgerline_export.service.sftp_accounts import credentials
from ledgerline_export.service.sftp_logins import SftpLoginGate
from ledgerline_shared.runtime import ServiceRuntime


class SftpListener:
    def __init__(self, runtime: ServiceRuntime, settings: ExportSettings) -> None:
        self._settings = settings
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self.port: int | None = None  # the bound port (settings.sftp_port may be 0: any free port)
        self._policy = settings.sftp_login_policy()
        self.gate = SftpLoginGate(writing(runtime), self._policy)
        self._read_uow = reading(runtime)

    async def _lookup(self, username: str) -> CredentialRecord | None:
        return await credentials(self._read_uow(), username, self._policy)

    async def start(self) -> None:
        settings = self._settings
        self._acceptor = await start_sftp_server(
            settings.sftp_host,
            settings.sftp_port,
            settings.document_root(),
            settings.host_key_path(),
            self._lookup,
            gate=self.gate,
            failure_delay_s=settings.sftp_failure_delay_s,
        )
        self.port = self._acceptor.get_port()

    async def stop(self) -> None:
        if self._acceptor is not None:
            await stop_sftp_server(self._acceptor)
            self._acceptor = None

    async def check(self) -> None:
        if self._acceptor is None:
            raise RuntimeError("the SFTP server is not listening")
