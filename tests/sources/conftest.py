"""The live-source tests run against the shared moto server (``moto_url`` in ``tests/conftest.py``).

Every test that uses it starts from an empty server, with fake credentials and
``AWS_ENDPOINT_URL`` set, so that even a client made from the default session talks to
moto and never to AWS.
"""

from __future__ import annotations

import pytest
from moto_helpers import REGION, Moto


@pytest.fixture
def moto(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Moto:
    """An empty moto server, with the environment of a default session pointed at it."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    return Moto(moto_url)
