"""Deterministic identifiers: every ID a scenario writes comes from one seeded RNG.

No wall clock, no :func:`uuid.uuid4`: the same seed gives the same event IDs, access keys,
request IDs and file names, so a generated data set is byte-identical from run to run.
"""

from __future__ import annotations

import random
import string
import uuid

_UPPER_DIGITS = string.ascii_uppercase + "234567"
_ALNUM = string.ascii_letters + string.digits
_B64 = string.ascii_letters + string.digits + "+/"


class Ids:
    """Identifiers in the formats AWS uses, drawn from a seeded :class:`random.Random`.

    Parameters
    ----------
    rng
        The random source; give each independent stream of a scenario its own.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def uuid(self) -> str:
        """A version-4 UUID string (as in ``eventID``)."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def key_id(self, prefix: str) -> str:
        """An IAM-style 20-character ID: ``AKIA`` (access key), ``ASIA`` (session key),
        ``AIDA`` (user), ``AROA`` (role) followed by 16 characters."""
        return prefix + "".join(self.rng.choice(_UPPER_DIGITS) for _ in range(16))

    def principal_id(self, prefix: str) -> str:
        """An IAM unique ID (``AIDA``/``AROA`` + 17 characters, 21 in all)."""
        return prefix + "".join(self.rng.choice(_UPPER_DIGITS) for _ in range(17))

    def hex(self, length: int, *, upper: bool = False) -> str:
        """``length`` random hexadecimal digits."""
        digits = "0123456789ABCDEF" if upper else "0123456789abcdef"
        return "".join(self.rng.choice(digits) for _ in range(length))

    def alnum(self, length: int) -> str:
        """``length`` random letters and digits (as in log file names)."""
        return "".join(self.rng.choice(_ALNUM) for _ in range(length))

    def base64(self, length: int) -> str:
        """``length`` random base64 characters (as in S3's ``x-amz-id-2``)."""
        return "".join(self.rng.choice(_B64) for _ in range(length))

    def request_id(self, service: str) -> str:
        """A request ID in the service's format: S3 uses 16 upper-case hex digits, others a UUID."""
        return self.hex(16, upper=True) if service == "s3.amazonaws.com" else self.uuid()
