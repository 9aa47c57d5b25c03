"""RDS calls; state changes answer with the instance's description."""

from __future__ import annotations

from dataclasses import dataclass

from forensics.scenarios.api.call import Call
from forensics.scenarios.identities import JSON


@dataclass(frozen=True)
class DBInstance:
    """The parts of an RDS instance that appear in ``responseElements``."""

    account: str
    region: str
    identifier: str
    resource_id: str
    engine: str = "postgres"
    engine_version: str = "15.5"
    instance_class: str = "db.r6g.large"

    @property
    def arn(self) -> str:
        return f"arn:aws:rds:{self.region}:{self.account}:db:{self.identifier}"

    def describe(self, status: str) -> JSON:
        return {
            "dBInstanceIdentifier": self.identifier,
            "dBInstanceClass": self.instance_class,
            "engine": self.engine,
            "dBInstanceStatus": status,
            "endpoint": {"address": f"{self.identifier}.c9akciq32.{self.region}.rds.amazonaws.com", "port": 5432},
            "allocatedStorage": 200,
            "availabilityZone": f"{self.region}b",
            "multiAZ": False,
            "engineVersion": self.engine_version,
            "storageType": "gp3",
            "storageEncrypted": True,
            "dbiResourceId": self.resource_id,
            "dBInstanceArn": self.arn,
            "deletionProtection": True,
        }


def describe_db_instances(identifier: str | None = None) -> Call:
    request = {"dBInstanceIdentifier": identifier} if identifier else None
    return Call("rds.amazonaws.com", "DescribeDBInstances", True, request, host="rds.{region}.amazonaws.com")


def stop_db_instance(db: DBInstance) -> Call:
    return Call(
        "rds.amazonaws.com",
        "StopDBInstance",
        False,
        {"dBInstanceIdentifier": db.identifier},
        db.describe("stopping"),
        host="rds.{region}.amazonaws.com",
    )


def start_db_instance(db: DBInstance) -> Call:
    return Call(
        "rds.amazonaws.com",
        "StartDBInstance",
        False,
        {"dBInstanceIdentifier": db.identifier},
        db.describe("starting"),
        host="rds.{region}.amazonaws.com",
    )
