"""GuardDuty calls: finding the detector of a region, deleting it, and creating it again."""

from __future__ import annotations

from forensics.scenarios.api.call import Call
from forensics.scenarios.identities import JSON


def _guardduty(name: str, read_only: bool, request: JSON | None, response: JSON | None = None) -> Call:
    return Call("guardduty.amazonaws.com", name, read_only, request, response, host="guardduty.{region}.amazonaws.com")


def list_detectors() -> Call:
    return _guardduty("ListDetectors", True, None)


def get_detector(detector_id: str) -> Call:
    return _guardduty("GetDetector", True, {"detectorId": detector_id})


def delete_detector(detector_id: str) -> Call:
    """``DeleteDetector``: GuardDuty stops analysing the region and its findings are deleted."""
    return _guardduty("DeleteDetector", False, {"detectorId": detector_id})


def create_detector(detector_id: str) -> Call:
    return _guardduty(
        "CreateDetector",
        False,
        {"enable": True, "findingPublishingFrequency": "FIFTEEN_MINUTES"},
        {"detectorId": detector_id},
    )
