"""EC2 and SSM calls (instances and their agents).

EC2 spells access denied ``Client.UnauthorizedOperation``.
"""

from __future__ import annotations

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
