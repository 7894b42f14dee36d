"""Four eyes on a billing run (issue 15): who may approve a preview run, and when an approval stands.

An approval names the preview run, who approved it and when, a comment or the blocking flags
acknowledged, a hash of the previews approved and a fingerprint of the period's billing inputs (call
records, subscriptions, one-time items, catalog). It stands while the previews and the inputs are
those approved; any change means a new preview and a new approval. The sentences of a refusal are
worded here only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ledgerline_invoicing.domain.errors import DomainError
from ledgerline_invoicing.domain.run_review import FlagCode


class ApprovalRefused(DomainError):
    """The approval request itself is incomplete (no comment nor acknowledgement, unknown flags)."""


class OwnPreviewApproval(DomainError):
    """The person who started a preview run asked to approve it: a second person must."""


# What an inputs fingerprint is made of, as a sentence names it.
INPUT_PARTS: Mapping[str, str] = {
    "call_records": "call records",
    "subscriptions": "subscriptions",
    "one_time_items": "one-time items",
    "articles": "catalog articles",
}

NO_APPROVAL = (
    "Production of {period} needs an approved preview (run approval is required): run a preview of "
    "{period}, then have a second person with the billing or admin role approve it "
    "(POST /api/v1/billing-runs/{{preview run id}}/approve)."
)
INPUTS_CHANGED = (
    "The approval of preview run {run_id} by {approved_by} at {approved_at} no longer stands: the "
    "{parts} of {period} changed since. Run a new preview of {period} and have it approved."
)
PREVIEWS_REPLACED = (
    "The approval of preview run {run_id} by {approved_by} at {approved_at} no longer stands: its "
    "previews were replaced by a later preview run. Have the latest preview of {period} approved."
)
CLIENTS_NOT_COVERED = (
    "The approved preview run {run_id} covers only some clients of {period}; this production run "
    "asks for {asked}. Produce only the approved clients, or preview and approve the others."
)


@dataclass(frozen=True)
class StoredApproval:
    """What the check needs of the period's latest approval."""

    run_id: str
    approved_by: str
    approved_at: str
    previews_hash: str
    inputs: Mapping[str, str]
    client_ids: frozenset[str] | None  # the preview run's clients; None: every client


def check_approval_request(
    *,
    approver: str,
    preview_started_by: str | None,
    comment: str | None,
    acknowledged: Iterable[str],
    blocking: Iterable[FlagCode],
) -> None:
    """Refuse an approval by the preview's own starter, or one that neither comments nor
    acknowledges each blocking flag of the run."""
    if preview_started_by is not None and approver == preview_started_by:
        raise OwnPreviewApproval(
            "approved_by",
            f"you ({approver}) started this preview run: a second person must approve it (four eyes)",
        )
    acknowledged = set(acknowledged)
    unknown = sorted(acknowledged - set(FlagCode))
    if unknown:
        raise ApprovalRefused("acknowledged_flags", f"unknown flag codes: {', '.join(unknown)}")
    missing = sorted(set(blocking) - acknowledged)
    if missing and not (comment and comment.strip()):
        raise ApprovalRefused(
            "acknowledged_flags",
            f"the run has blocking flags ({', '.join(missing)}): acknowledge each of them or write a comment",
        )


def why_not_standing(
    approval: StoredApproval | None,
    *,
    period: str,
    previews_hash: str,
    inputs: Mapping[str, str],
    client_ids: Sequence[str] | None,
) -> str | None:
    """None when a production run of `client_ids` (None: every client) may start; else why not."""
    if approval is None:
        return NO_APPROVAL.format(period=period)
    who = {
        "run_id": approval.run_id,
        "approved_by": approval.approved_by,
        "approved_at": approval.approved_at,
    }
    if approval.previews_hash != previews_hash:
        return PREVIEWS_REPLACED.format(period=period, **who)
    changed = [
        INPUT_PARTS.get(name, name)
        for name in sorted(set(approval.inputs) | set(inputs))
        if approval.inputs.get(name) != inputs.get(name)
    ]
    if changed:
        return INPUTS_CHANGED.format(period=period, parts=", ".join(changed), **who)
    if approval.client_ids is not None:
        if client_ids is None:
            return CLIENTS_NOT_COVERED.format(period=period, asked="every client", run_id=approval.run_id)
        others = set(client_ids) - approval.client_ids
        if others:
            return CLIENTS_NOT_COVERED.format(
                period=period, asked=f"{len(others)} client(s) not approved", run_id=approval.run_id
            )
    return None


def digest(rows: Iterable[Sequence[object]]) -> str:
    """A sha256 of rows given in a stable order (their text forms, one row a line)."""
    sha = hashlib.sha256()
    for row in rows:
        sha.update("\x1f".join("" if v is None else str(v) for v in row).encode())
        sha.update(b"\n")
    return sha.hexdigest()
