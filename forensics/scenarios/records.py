"""CloudTrail records: who (an :class:`Actor`) made which :class:`~forensics.scenarios.api.Call`, when.

A :class:`Trail` turns those into complete records, with CloudTrail's key order, the fields of
``eventVersion`` 1.08/1.09 (``tlsDetails``, ``sessionCredentialFromConsole``, ...), and fresh
``eventID``/``requestID`` values drawn from the trail's own seeded stream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from forensics.scenarios.api import Call, Error
from forensics.scenarios.identities import JSON, Principal
from forensics.scenarios.ids import Ids
from forensics.scenarios.times import iso

#: ``eventVersion`` per service; the rest write 1.08.
EVENT_VERSIONS: dict[str, str] = {
    "s3.amazonaws.com": "1.09",
    "signin.amazonaws.com": "1.09",
    "sts.amazonaws.com": "1.08",
}

_CIPHERS = {"TLSv1.3": "TLS_AES_128_GCM_SHA256", "TLSv1.2": "ECDHE-RSA-AES128-GCM-SHA256"}


@dataclass(frozen=True)
class Actor:
    """A principal together with where it calls from.

    Attributes
    ----------
    principal
        Gives the record's ``userIdentity``.
    ip
        ``sourceIPAddress``: an address, or a service name such as ``lambda.amazonaws.com``.
    user_agent
        ``userAgent``.
    tls
        TLS version of the connection, or ``None`` for AWS-internal calls (no ``tlsDetails``).
    console
        Whether the credentials come from a console sign-in (``sessionCredentialFromConsole``).
    vpc_endpoint
        ``vpcEndpointId`` when the caller comes through a VPC endpoint.
    """

    principal: Principal
    ip: str
    user_agent: str
    tls: str | None = "TLSv1.3"
    console: bool = False
    vpc_endpoint: str | None = None

    def via(self, principal: Principal) -> Actor:
        """The same place and tool, calling as another principal."""
        return Actor(principal, self.ip, self.user_agent, self.tls, self.console, self.vpc_endpoint)


def service_actor(principal: Principal, service: str) -> Actor:
    """An AWS service calling by itself or on a principal's behalf (no TLS details)."""
    return Actor(principal, service, service, tls=None)


class Trail:
    """The records one account's trail receives.

    Parameters
    ----------
    account
        ``recipientAccountId`` of every record.
    ids
        Source of ``eventID``, ``requestID`` and S3's ``x-amz-id-2``.
    """

    def __init__(self, account: str, ids: Ids) -> None:
        self.account = account
        self.ids = ids
        self.records: list[JSON] = []

    def record(
        self,
        at: datetime,
        actor: Actor,
        call: Call,
        *,
        region: str,
        error: Error | None = None,
        shared_event_id: str | None = None,
    ) -> JSON:
        """Add the record of ``call`` made by ``actor`` at ``at`` and return it.

        ``region`` is ignored for global services (IAM and sign-in are recorded in us-east-1).
        A failed call (``error``) has ``responseElements: null``.
        """
        region = call.region or region
        record: JSON = {
            "eventVersion": EVENT_VERSIONS.get(call.source, "1.08"),
            "userIdentity": actor.principal.user_identity(),
            "eventTime": iso(at),
            "eventSource": call.source,
            "eventName": call.name,
            "awsRegion": region,
            "sourceIPAddress": actor.ip,
            "userAgent": actor.user_agent.replace("{command}", cli_command(call)),
        }
        if error is not None:
            record["errorCode"] = error.code
            record["errorMessage"] = error.message
        record["requestParameters"] = _fill_region(call.request, region)
        record["responseElements"] = None if error is not None else call.response
        if call.additional is not None:
            additional = dict(call.additional)
            if call.source == "s3.amazonaws.com":
                additional["x-amz-id-2"] = self.ids.base64(76)
            record["additionalEventData"] = additional
        if call.event_type != "AwsConsoleSignIn":
            record["requestID"] = self.ids.request_id(call.source)
        record["eventID"] = self.ids.uuid()
        record["readOnly"] = call.read_only
        if call.resources:
            record["resources"] = [dict(r) for r in call.resources]
        record["eventType"] = call.event_type
        record["managementEvent"] = call.category == "Management"
        record["recipientAccountId"] = self.account
        if shared_event_id:
            record["sharedEventID"] = shared_event_id
        if actor.vpc_endpoint:
            record["vpcEndpointId"] = actor.vpc_endpoint
        record["eventCategory"] = call.category
        if actor.tls and call.host:
            record["tlsDetails"] = {
                "tlsVersion": actor.tls,
                "cipherSuite": _CIPHERS[actor.tls],
                "clientProvidedHostHeader": call.host.replace("{region}", region),
            }
        if actor.console:
            record["sessionCredentialFromConsole"] = "true"
        self.records.append(record)
        return record


def cli_command(call: Call) -> str:
    """The ``command/...`` part of an aws-cli v2 user agent for ``call``, e.g. ``s3api.list-objects-v2``."""
    service = {"s3": "s3api", "monitoring": "cloudwatch"}.get(call.source.split(".")[0], call.source.split(".")[0])
    name = call.action.split(":", 1)[1]
    if call.name == "ListObjects" and (call.request or {}).get("list-type") == "2":
        name = "ListObjectsV2"
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1-\2", name))
    return f"{service}.{words.lower()}"


def _fill_region(value: JSON | None, region: str) -> JSON | None:
    """Replace the ``{region}`` placeholder in host names of request parameters."""
    if value is None:
        return None
    return {k: (v.replace("{region}", region) if isinstance(v, str) else v) for k, v in value.items()}
