"""SFTP password issue/verify (argon2id) and username derivation."""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher, Type

from ledgerline_export.domain.sftp_credentials import (
    IssuedSftpPassword,
    hash_sftp_password,
    issue_sftp_password,
    sftp_password_needs_rehash,
    sftp_username,
    verify_sftp_password,
)

URL_SAFE_24 = re.compile(r"[A-Za-z0-9_-]{24}")


def test_issued_password_is_24_url_safe_chars_and_verifies_against_its_hash() -> None:
    issued = issue_sftp_password()
    assert URL_SAFE_24.fullmatch(issued.password)
    assert verify_sftp_password(issued.password_hash, issued.password)


def test_hash_is_argon2id_and_not_the_password() -> None:
    issued = issue_sftp_password()
    assert issued.password_hash.startswith("$argon2id$")
    assert issued.password not in issued.password_hash
    assert not sftp_password_needs_rehash(issued.password_hash)


def test_each_issue_gives_a_new_password_and_same_password_hashes_differently() -> None:
    first, second = issue_sftp_password(), issue_sftp_password()
    assert first.password != second.password
    assert hash_sftp_password("same-secret") != hash_sftp_password("same-secret")  # random salt


def test_issued_password_is_kept_out_of_repr() -> None:
    issued = issue_sftp_password()
    assert issued.password not in repr(issued)
    assert isinstance(issued, IssuedSftpPassword)


def test_wrong_password_fails() -> None:
    issued = issue_sftp_password()
    assert not verify_sftp_password(issued.password_hash, issued.password + "x")
    assert not verify_sftp_password(issued.password_hash, issued.password.upper() + "!")
    assert not verify_sftp_password(issued.password_hash, "")


def test_the_hash_itself_is_not_accepted_as_password() -> None:
    issued = issue_sftp_password()
    assert not verify_sftp_password(issued.password_hash, issued.password_hash)


def test_garbage_or_non_argon2id_hash_is_refused_without_raising() -> None:
    argon2i_hash = PasswordHasher(type=Type.I).hash("secret")
    assert PasswordHasher(type=Type.I).verify(argon2i_hash, "secret")  # valid, but the wrong variant
    assert not verify_sftp_password(argon2i_hash, "secret")
    assert not verify_sftp_password("not a hash", "secret")
    assert not verify_sftp_password("$argon2id$v=19$m=1,t=1,p=1$broken", "secret")


def test_empty_password_cannot_be_hashed() -> None:
    with pytest.raises(ValueError):
        hash_sftp_password("")


@pytest.mark.parametrize("subject", ["alice", "bob.smith", "ops_team-2", "a", "0day"])
def test_safe_subject_is_its_own_username(subject: str) -> None:
    assert sftp_username(subject) == subject


@pytest.mark.parametrize(
    "subject",
    ["Alice", "alice@example.com", "../../etc/passwd", "x" * 40, "é", "client:42", "-lead", " bob "],
)
def test_other_subjects_get_a_safe_hashed_username(subject: str) -> None:
    name = sftp_username(subject)
    assert re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,31}", name), name
    assert re.search(r"-[0-9a-f]{8}$", name), name
    assert "/" not in name and ".." not in name
    assert sftp_username(subject) == name  # deterministic


def test_subjects_differing_only_by_case_or_punctuation_get_different_usernames() -> None:
    names = {sftp_username(s) for s in ["alice", "Alice", "ALICE", "alice@x", "alice#x"]}
    assert len(names) == 5


def test_readable_part_is_kept() -> None:
    assert sftp_username("Alice@Example.com").startswith("alice-example.com-")


@pytest.mark.parametrize("subject", ["", "   "])
def test_empty_subject_is_refused(subject: str) -> None:
    with pytest.raises(ValueError):
        sftp_username(subject)
