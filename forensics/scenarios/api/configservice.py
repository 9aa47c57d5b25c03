"""AWS Config calls (the boto3 client is ``config``): the configuration recorder."""

from __future__ import annotations

from forensics.scenarios.api.call import Call
from forensics.scenarios.identities import JSON

RECORDER = "default"


def _config(name: str, read_only: bool, request: JSON | None) -> Call:
    return Call("config.amazonaws.com", name, read_only, request, host="config.{region}.amazonaws.com")


def describe_configuration_recorders() -> Call:
    return _config("DescribeConfigurationRecorders", True, None)


def describe_configuration_recorder_status() -> Call:
    return _config("DescribeConfigurationRecorderStatus", True, None)


def stop_configuration_recorder(name: str = RECORDER) -> Call:
    """``StopConfigurationRecorder``: Config stops recording resource changes in the region."""
    return _config("StopConfigurationRecorder", False, {"configurationRecorderName": name})


def start_configuration_recorder(name: str = RECORDER) -> Call:
    return _config("StartConfigurationRecorder", False, {"configurationRecorderName": name})
