"""Fixtures of the integrity tests: one RSA test key per session, a fresh trail per test."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable, Iterable

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from signed_trail import Signer, Trail

from forensics.integrity import TrailValidation, validate_trail

@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def trail(rsa_key: rsa.RSAPrivateKey) -> Trail:
    return Trail(Signer(rsa_key))


@pytest.fixture
def validate(tmp_path: Path) -> Callable[..., TrailValidation]:
    """Write a trail to a folder with its key list and metadata file, and validate it offline."""

    def run(
        trail: Trail,
        *,
        metadata_keys: Iterable[str] | None = None,
        signers: Iterable[Signer] | None = None,
        **options: Any,
    ) -> TrailValidation:
        shutil.rmtree(tmp_path / "evidence", ignore_errors=True)  # exactly the trail's objects
        root = trail.write(tmp_path / "evidence")
        keys = trail.public_keys_file(tmp_path / "public-keys.json", signers)
        metadata = trail.metadata_file(tmp_path / "digest-metadata.json", metadata_keys)
        return validate_trail(root, public_keys=keys, object_metadata=metadata, **options)

    return run
