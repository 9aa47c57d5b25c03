"""Service Quotas calls: reading a quota and asking for more (``servicequotas.amazonaws.com``)."""

from __future__ import annotations

import json

from forensics.scenarios.api.call import Call
from forensics.scenarios.identities import JSON

#: Quota codes of EC2 On-Demand vCPU limits, by instance family group.
STANDARD_VCPU = "L-1216C47A"  # Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances
G_VCPU = "L-DB2E81BA"  # Running On-Demand G and VT instances
P_VCPU = "L-417A185B"  # Running On-Demand P instances

QUOTA_NAMES = {
    STANDARD_VCPU: "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances",
    G_VCPU: "Running On-Demand G and VT instances",
    P_VCPU: "Running On-Demand P instances",
}


def _quotas(name: str, read_only: bool, request: JSON, response: JSON | None = None) -> Call:
    return Call(
        "servicequotas.amazonaws.com", name, read_only, request, response, host="servicequotas.{region}.amazonaws.com"
    )


def get_service_quota(quota_code: str) -> Call:
    return _quotas("GetServiceQuota", True, {"serviceCode": "ec2", "quotaCode": quota_code})


def request_service_quota_increase(
    caller_arn: str, region: str, quota_code: str, desired: float, request_id: str, created: str
) -> Call:
    """``RequestServiceQuotaIncrease`` for an EC2 vCPU quota by ``caller_arn``; answered ``PENDING``."""
    account = caller_arn.split(":")[4]
    return _quotas(
        "RequestServiceQuotaIncrease",
        False,
        {"serviceCode": "ec2", "quotaCode": quota_code, "desiredValue": desired},
        {
            "requestedQuota": {
                "id": request_id,
                "serviceCode": "ec2",
                "serviceName": "Amazon Elastic Compute Cloud (Amazon EC2)",
                "quotaCode": quota_code,
                "quotaName": QUOTA_NAMES[quota_code],
                "desiredValue": desired,
                "status": "PENDING",
                "created": created,
                "requester": json.dumps({"accountId": account, "callerArn": caller_arn}, separators=(",", ":")),
                "quotaArn": f"arn:aws:servicequotas:{region}:{account}:ec2/{quota_code}",
                "globalQuota": False,
                "unit": "None",
                "quotaRequestedAtLevel": "ACCOUNT",
            }
        },
    )
