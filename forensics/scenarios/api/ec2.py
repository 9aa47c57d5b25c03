"""EC2 and SSM calls (instances and their agents).

EC2 spells access denied ``Client.UnauthorizedOperation``.
"""

from __future__ import annotations

from dataclasses import dataclass

from forensics.scenarios.api.call import Call, Error
from forensics.scenarios.identities import JSON


def ec2_unauthorized(caller_arn: str, action: str) -> Error:
    """EC2's spelling of access denied."""
    return Error(
        "Client.UnauthorizedOperation",
        f"You are not authorized to perform this operation. User: {caller_arn} is not authorized to "
        f"perform: {action} because no identity-based policy allows the {action} action",
    )


def _ec2(name: str, read_only: bool, request: JSON | None, response: JSON | None = None) -> Call:
    return Call("ec2.amazonaws.com", name, read_only, request, response, host="ec2.{region}.amazonaws.com")


def describe_instances() -> Call:
    return _ec2("DescribeInstances", True, {"instancesSet": {}, "filterSet": {}})


def describe_security_groups() -> Call:
    return _ec2("DescribeSecurityGroups", True, {"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}})


def describe_vpcs() -> Call:
    return _ec2("DescribeVpcs", True, {"vpcSet": {}, "filterSet": {}})


def run_instances(
    account: str, instance_id: str, image_id: str, instance_type: str, launch_template: str, zone: str, private_ip: str
) -> Call:
    """``RunInstances`` as an Auto Scaling group makes it from a launch template."""
    return _ec2(
        "RunInstances",
        False,
        {
            "instancesSet": {"items": [{"minCount": 1, "maxCount": 1}]},
            "availabilityZone": zone,
            "monitoring": {"enabled": False},
            "disableApiTermination": False,
            "disableApiStop": False,
            "clientToken": f"fleet-{instance_id[2:10]}",
            "launchTemplate": {"launchTemplateId": launch_template, "version": "7"},
        },
        {
            "ownerId": account,
            "groupSet": {},
            "instancesSet": {
                "items": [
                    {
                        "instanceId": instance_id,
                        "imageId": image_id,
                        "instanceState": {"code": 0, "name": "pending"},
                        "privateIpAddress": private_ip,
                        "instanceType": instance_type,
                        "placement": {"availabilityZone": zone, "tenancy": "default"},
                    }
                ]
            },
        },
    )


def terminate_instances(instance_id: str) -> Call:
    return _ec2(
        "TerminateInstances",
        False,
        {"instancesSet": {"items": [{"instanceId": instance_id}]}},
        {
            "instancesSet": {
                "items": [
                    {
                        "instanceId": instance_id,
                        "currentState": {"code": 32, "name": "shutting-down"},
                        "previousState": {"code": 16, "name": "running"},
                    }
                ]
            }
        },
    )


def update_instance_information(instance_id: str, private_ip: str, zone: str) -> Call:
    """The SSM agent's periodic heartbeat (every five minutes per instance)."""
    return Call(
        "ssm.amazonaws.com",
        "UpdateInstanceInformation",
        False,
        {
            "instanceId": instance_id,
            "agentVersion": "3.3.131.0",
            "agentStatus": "Active",
            "platformType": "Linux",
            "platformName": "Amazon Linux",
            "platformVersion": "2023",
            "iPAddress": private_ip,
            "computerName": f"ip-{private_ip.replace('.', '-')}.ec2.internal",
            "agentName": "amazon-ssm-agent",
            "availabilityZone": zone,
        },
        host="ssm.{region}.amazonaws.com",
    )


def vcpu_limit_exceeded(limit: int) -> Error:
    """``RunInstances`` asking for more vCPUs than the region's quota for the instance family."""
    return Error(
        "Client.VcpuLimitExceeded",
        f"You have requested more vCPU capacity than your current vCPU limit of {limit} allows for the instance "
        "bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request "
        "to request an adjustment to this limit.",
    )


def describe_regions() -> Call:
    return _ec2("DescribeRegions", True, {"regionSet": {}, "allRegions": False})


def create_key_pair(name: str, key_pair_id: str, fingerprint: str) -> Call:
    """``CreateKeyPair``: the private key is never logged (``<sensitiveDataRemoved>``)."""
    return _ec2(
        "CreateKeyPair",
        False,
        {"keyName": name},
        {
            "keyName": name,
            "keyFingerprint": fingerprint,
            "keyMaterial": "<sensitiveDataRemoved>",
            "keyPairId": key_pair_id,
        },
    )


def delete_key_pair(name: str) -> Call:
    return _ec2("DeleteKeyPair", False, {"keyName": name}, {"_return": True})


def create_security_group(name: str, description: str, vpc_id: str, group_id: str) -> Call:
    return _ec2(
        "CreateSecurityGroup",
        False,
        {"groupName": name, "groupDescription": description, "vpcId": vpc_id},
        {"_return": True, "groupId": group_id},
    )


def authorize_ingress_from_anywhere(account: str, group_id: str, port: int, rule_id: str) -> Call:
    """``AuthorizeSecurityGroupIngress`` opening TCP ``port`` to ``0.0.0.0/0``."""
    return _ec2(
        "AuthorizeSecurityGroupIngress",
        False,
        {
            "groupId": group_id,
            "ipPermissions": {
                "items": [
                    {
                        "ipProtocol": "tcp",
                        "fromPort": port,
                        "toPort": port,
                        "groups": {},
                        "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]},
                        "ipv6Ranges": {},
                        "prefixListIds": {},
                    }
                ]
            },
        },
        {
            "_return": True,
            "securityGroupRuleSet": {
                "items": [
                    {
                        "groupOwnerId": account,
                        "groupId": group_id,
                        "securityGroupRuleId": rule_id,
                        "isEgress": False,
                        "ipProtocol": "tcp",
                        "fromPort": port,
                        "toPort": port,
                        "cidrIpv4": "0.0.0.0/0",
                    }
                ]
            },
        },
    )


def delete_security_group(group_id: str) -> Call:
    return _ec2("DeleteSecurityGroup", False, {"groupId": group_id}, {"_return": True})


@dataclass(frozen=True)
class Launch:
    """What a caller asks ``RunInstances`` for (outside a launch template); SDKs send a fresh
    ``client_token`` (a UUID) with every call."""

    image_id: str
    instance_type: str
    count: int
    key_name: str
    group_id: str
    zone: str
    client_token: str


def run_instances_with_user_data(account: str, launch: Launch, instances: list[tuple[str, str]]) -> Call:
    """``RunInstances`` with user data (logged as ``<sensitiveDataRemoved>``) starting ``instances``
    (instance ID, private address); pass no instances for a call that fails."""
    request: JSON = {
        "instancesSet": {"items": [{"imageId": launch.image_id, "minCount": launch.count, "maxCount": launch.count}]},
        "userData": "<sensitiveDataRemoved>",
        "instanceType": launch.instance_type,
        "keyName": launch.key_name,
        "blockDeviceMapping": {},
        "monitoring": {"enabled": False},
        "disableApiTermination": False,
        "disableApiStop": False,
        "clientToken": launch.client_token,
        "groupSet": {"items": [{"groupId": launch.group_id}]},
    }
    response: JSON | None = None
    if instances:
        response = {
            "ownerId": account,
            "groupSet": {},
            "instancesSet": {
                "items": [
                    {
                        "instanceId": instance_id,
                        "imageId": launch.image_id,
                        "instanceState": {"code": 0, "name": "pending"},
                        "privateIpAddress": private_ip,
                        "keyName": launch.key_name,
                        "instanceType": launch.instance_type,
                        "placement": {"availabilityZone": launch.zone, "tenancy": "default"},
                        "monitoring": {"state": "disabled"},
                        "groupSet": {"items": [{"groupId": launch.group_id, "groupName": "default-ssh"}]},
                    }
                    for instance_id, private_ip in instances
                ]
            },
        }
    return _ec2("RunInstances", False, request, response)


def terminate_instance_set(instance_ids: list[str]) -> Call:
    """``TerminateInstances`` of several running instances at once."""
    return _ec2(
        "TerminateInstances",
        False,
        {"instancesSet": {"items": [{"instanceId": i} for i in instance_ids]}},
        {
            "instancesSet": {
                "items": [
                    {
                        "instanceId": i,
                        "currentState": {"code": 32, "name": "shutting-down"},
                        "previousState": {"code": 16, "name": "running"},
                    }
                    for i in instance_ids
                ]
            }
        },
    )
