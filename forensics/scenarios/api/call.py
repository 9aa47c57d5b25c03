"""What a scenario's API request looks like to CloudTrail, and how a failed one fails.

A :class:`Call` is what was asked and answered, independent of who asked, when and from where
(that is :meth:`forensics.scenarios.records.Trail.record`'s job). The service modules next to
this one build calls with the shapes CloudTrail records for each API, including their quirks.
"""

from __future__ import annotations

from dataclasses import dataclass

from forensics.scenarios.identities import JSON

#: Region where CloudTrail records global services (IAM, sign-in, the global STS endpoint).
GLOBAL_REGION = "us-east-1"


@dataclass(frozen=True)
class Call:
    """One API request and CloudTrail's view of it.

    Attributes
    ----------
    source, name
        ``eventSource`` and ``eventName``.
    read_only
        ``readOnly``.
    request, response
        ``requestParameters`` and ``responseElements`` (``None`` is written as ``null``).
    resources
        ``resources``, when CloudTrail writes them for this API.
    additional
        ``additionalEventData``.
    host
        The TLS host header; ``{region}`` is filled in by the trail.
    category
        ``eventCategory``: ``Management`` or ``Data``.
    event_type
        ``eventType``: ``AwsApiCall``, ``AwsConsoleSignIn``, ...
    region
        A fixed region for global services (IAM, the global STS endpoint, sign-in), else ``None``.
    """

    source: str
    name: str
    read_only: bool
    request: JSON | None = None
    response: JSON | None = None
    resources: tuple[JSON, ...] = ()
    additional: JSON | None = None
    host: str | None = None
    category: str = "Management"
    event_type: str = "AwsApiCall"
    region: str | None = None

    @property
    def action(self) -> str:
        """The IAM action, e.g. ``s3:GetObject`` (Lambda's version suffix removed)."""
        service = self.source.split(".")[0]
        service = {"monitoring": "cloudwatch", "signin": "signin"}.get(service, service)
        name = self.name.rstrip("0123456789v") if service == "lambda" else self.name
        return f"{service}:{name}"


@dataclass(frozen=True)
class Error:
    """``errorCode`` and ``errorMessage`` of a failed call."""

    code: str
    message: str


def access_denied(caller_arn: str, action: str, resource: str = "*") -> Error:
    """The IAM-style ``AccessDenied`` of most services."""
    return Error(
        "AccessDenied",
        f"User: {caller_arn} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action",
    )
