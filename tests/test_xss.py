"""XSS regression (issue 10): every report notebook on hostile evidence gives an inert page showing every payload.

One synthetic evidence set carries a unique payload in every field a report displays: user agent, error
message and code, event name, the caller's ARN, a role session name, a bucket name, a request parameter,
the source address, a log file's name, the case id, an alarm's name and reason, and the acquisition
manifest. The CloudTrail is a signed digest chain in the S3 layout (so the integrity views have rows), with
a planted log file. Every notebook runs through the real :func:`forensics.report.run_report`; each page is
parsed with an HTML parser and must hold no active content and every payload as visible text.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from integrity.signed_trail import ACCOUNT, START, Signer, Trail, iso

from forensics.display import safe_text
from forensics.report import ReportResult, run_report
from forensics.reporthtml import CSP
from forensics.results import read_results

PAYLOADS = {
    "userAgent": '<script>alert("UA1")</script>\x1b[8m\u202eUA1',
    "errorMessage": "<img src=x onerror=alert('EM2')>",
    "errorCode": "</td></tr></table><iframe src=//evil.example/EC3>",
    "eventName": "<svg onload=alert('EN4')>PutBucketPolicy",
    "sourceIPAddress": '<a href="https://evil.example/IP5">IP5</a>',
    "requestParameters": "${aws:username} $RP6$ {{7*7}} <style>*{display:none}</style>",
    "user": 'x"><a href="javascript:alert(7)">AR7</a>',
    "session": '<object data="data:text/html,SN8">',
    "bucket": "<embed src=//evil.example/BK9>",
    "file": "<img src=x onerror=alert('FN10')>",
    "case_id": "IR <script>alert('CASE11')</script>\u202e",
    "alarm": "<script>alert('AL12')</script>",
    "reason": "<img src=x onerror=alert('RS13')>",
    "manifest": "<iframe src=//evil.example/MF14>",
}
#: Which payloads each report shows whole (a report shows only what it is about; long JSON is cut in the view).
SHOWN = {
    "triage": ("userAgent", "errorCode", "eventName", "sourceIPAddress", "user", "session", "file", "case_id"),
    "actor": ("userAgent", "errorMessage", "errorCode", "eventName", "sourceIPAddress", "user", "bucket", "case_id"),
    "resource": ("errorCode", "eventName", "sourceIPAddress", "requestParameters", "user", "session", "bucket", "case_id"),
    "alarm": ("user", "session", "bucket", "case_id", "alarm", "reason"),
    "integrity": ("file", "case_id", "manifest"),
}  # fmt: skip
REGION = "us-east-1"
WINDOW = {"start": "2024-03-14T00:40:00Z", "end": "2024-03-14T02:20:00Z", "context": "30min"}
UTC = dt.timezone.utc
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/{PAYLOADS['user']}"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/AuditRole"
SESSION_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/AuditRole/{PAYLOADS['session']}"
BUCKET_ARN = f"arn:aws:s3:::{PAYLOADS['bucket']}"


def hostile_records(hour: int, delivered: dt.datetime) -> list[dict]:
    """The hostile calls, in the first log file of the second hour (inside the window)."""
    if hour != 1:
        return []
    user = {"type": "IAMUser", "principalId": "AIDAEXAMPLEHOSTILE01", "arn": USER_ARN, "accountId": ACCOUNT,
            "accessKeyId": "AKIAEXAMPLEHOSTILE01", "userName": PAYLOADS["user"]}  # fmt: skip
    session = {
        "type": "AssumedRole", "principalId": "AROAEXAMPLEAUDIT0001:session", "arn": SESSION_ARN, "accountId": ACCOUNT,
        "accessKeyId": "ASIAEXAMPLEHOSTILE01",
        "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEAUDIT0001", "arn": ROLE_ARN,
                                             "accountId": ACCOUNT, "userName": "AuditRole"},
                           "attributes": {"creationDate": "2024-03-14T00:50:00Z", "mfaAuthenticated": "false"}},
    }  # fmt: skip
    bucket = [{"ARN": BUCKET_ARN, "accountId": ACCOUNT, "type": "AWS::S3::Bucket"}]

    def call(n: int, identity: dict, name: str, source: str = "s3.amazonaws.com", **fields: object) -> dict:
        rec = {
            "eventVersion": "1.08", "userIdentity": identity, "eventTime": iso(delivered - dt.timedelta(minutes=4 - n)),
            "eventSource": source, "eventName": name, "awsRegion": REGION,
            "sourceIPAddress": PAYLOADS["sourceIPAddress"], "userAgent": PAYLOADS["userAgent"],
            "requestParameters": {"bucketName": PAYLOADS["bucket"]}, "responseElements": None,
            "requestID": f"hostile-{n}", "eventID": f"hostile-{n}", "readOnly": False, "eventType": "AwsApiCall",
            "managementEvent": True, "recipientAccountId": ACCOUNT, "eventCategory": "Management", "resources": bucket,
        }  # fmt: skip
        rec.update(fields)
        return rec

    return [
        call(0, user, PAYLOADS["eventName"], errorCode=PAYLOADS["errorCode"], errorMessage=PAYLOADS["errorMessage"],
             requestParameters={"bucketName": PAYLOADS["bucket"], "policy": PAYLOADS["requestParameters"]}),
        call(1, user, "GetObject", readOnly=True, requestParameters={"bucketName": PAYLOADS["bucket"], "key": "x.csv"}),
        call(2, session, "PutBucketAcl",
             requestParameters={"bucketName": PAYLOADS["bucket"], "x-amz-acl": ["public-read"]}),
        call(3, user, "StopLogging", source="cloudtrail.amazonaws.com", requestParameters={"name": "org-trail"},
             resources=None),
    ]  # fmt: skip


def cloudwatch(folder: Path) -> dict[str, str]:
    """AWS CLI output of a hostile alarm on the hostile bucket's downloads, which fired at 01:10."""
    folder.mkdir()
    dimensions = [{"Name": "BucketName", "Value": PAYLOADS["bucket"]}, {"Name": "FilterId", "Value": "EntireBucket"}]
    metric = {"Namespace": "AWS/S3", "MetricName": "BytesDownloaded", "Dimensions": dimensions}
    times = [START + dt.timedelta(minutes=m) for m in range(10, 170, 5)]
    values = [5e6 if 60 <= m < 80 else 1e3 for m in range(10, 170, 5)]
    reason_data = {"version": "1.0", "queryDate": "2024-03-14T01:10:00.000+0000", "period": 300,
                   "evaluatedDatapoints": [{"timestamp": "2024-03-14T01:05:00.000+0000", "value": 5e6}]}  # fmt: skip
    state = {"stateValue": "ALARM", "stateReason": PAYLOADS["reason"], "stateReasonData": reason_data}
    documents = {
        "queries": [{"Id": "bytes", "MetricStat": {"Metric": metric, "Period": 300, "Stat": "Sum"}, "ReturnData": True}],
        "metrics": {"MetricDataResults": [{"Id": "bytes", "Label": "BytesDownloaded", "StatusCode": "Complete",
                                           "Timestamps": [t.isoformat() for t in times], "Values": values}],
                    "Messages": []},
        "alarms": {"MetricAlarms": [{
            "AlarmName": PAYLOADS["alarm"], "AlarmArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:x",
            "AlarmDescription": PAYLOADS["reason"], "ActionsEnabled": True, "StateValue": "OK",
            "StateReason": PAYLOADS["reason"], "StateUpdatedTimestamp": "2024-03-14T01:40:00+00:00",
            "MetricName": "BytesDownloaded", "Namespace": "AWS/S3", "Statistic": "Sum", "Dimensions": dimensions,
            "Period": 300, "EvaluationPeriods": 1, "DatapointsToAlarm": 1, "Threshold": 1e6,
            "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
        }], "CompositeAlarms": []},
        "alarm_history": {"AlarmHistoryItems": [{
            "AlarmName": PAYLOADS["alarm"], "AlarmType": "MetricAlarm", "Timestamp": "2024-03-14T01:10:00+00:00",
            "HistoryItemType": "StateUpdate", "HistorySummary": f"Alarm updated from OK to ALARM {PAYLOADS['reason']}",
            "HistoryData": json.dumps({"version": "1.0", "oldState": {"stateValue": "OK", "stateReason": "fine"},
                                       "newState": state}),
        }]},
    }  # fmt: skip
    paths = {}
    for name, document in documents.items():
        paths[name] = str(folder / f"{name}.json")
        Path(paths[name]).write_text(json.dumps(document), encoding="utf-8")
    return paths


@pytest.fixture(scope="module")
def hostile_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ReportResult]:
    """Every report notebook run on the hostile evidence set."""
    root = tmp_path_factory.mktemp("xss")
    trail = Trail(Signer(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    trail.chain(REGION, START, 3, records=hostile_records)
    evidence = trail.write(root / "evidence")
    day = Path(evidence, trail.log_key(REGION, START, "x")).parent  # the trail's log folder of the day
    planted = day / f"{PAYLOADS['file']}.json.gz"  # listed by no digest, and its name is the payload
    body = json.dumps({"Records": [hostile_records(1, START + dt.timedelta(hours=1, minutes=35))[1] | {"eventID": "p1"}]})
    planted.write_bytes(gzip.compress(body.encode()[:-3]))  # cut off: the loader lists it as damaged
    trail.metadata_file(evidence / "object-metadata.json")
    keys = trail.public_keys_file(root / "public-keys.json")
    manifest = {
        "format": "forensics-acquisition/1",
        "objects": [{"bucket": trail.bucket, "key": f"AWSLogs/{PAYLOADS['manifest']}", "kind": "log", "size": 1,
                     "sha256": "0" * 64, "path": "x", "acquired_by": PAYLOADS["manifest"]}],
        "runs": [{"source": f"s3://{trail.bucket}", "finished": "2024-03-14T03:10:00+00:00",
                  "principal": {"Arn": PAYLOADS["manifest"]}, "counts": {"downloaded": 1}, "problems": []}],
    }  # fmt: skip
    (evidence / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    common = {"source": str(evidence), "case_id": PAYLOADS["case_id"], **WINDOW}
    parameters = {
        "triage": common | {"public_keys": str(keys)},
        "actor": common | {"actor": USER_ARN},
        "resource": common | {"resource": BUCKET_ARN},
        "alarm": common | cloudwatch(root / "cloudwatch"),
        "integrity": common | {"public_keys": str(keys)},
    }
    return {name: run_report(name, values, root / "out") for name, values in parameters.items()}


class Page(HTMLParser):
    """Elements, attributes, visible text and style sheets of a page, as a browser's parser sees them."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._tag = ""
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._tag = tag

    def handle_endtag(self, tag: str) -> None:
        self._tag = ""

    def handle_data(self, data: str) -> None:
        (self.styles if self._tag == "style" else self.text).append(data)


FORBIDDEN_TAGS = ("script", "iframe", "object", "embed", "svg", "math", "form", "base", "link", "frame", "applet")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SHOWN))
def test_report_of_hostile_evidence_is_inert_and_shows_every_payload(
    hostile_reports: dict[str, ReportResult], name: str
) -> None:
    page = Page(hostile_reports[name].html.read_text(encoding="utf-8"))
    tags = [tag for tag, _ in page.elements]
    assert [t for t in tags if t in FORBIDDEN_TAGS] == []
    for tag, attrs in page.elements:
        for attribute, value in attrs.items():
            assert not attribute.startswith("on"), (tag, attribute)
            lowered = (value or "").replace(" ", "").lower()
            assert "javascript:" not in lowered and "data:text/html" not in lowered, (tag, attribute, value)
            if attribute in ("src", "href", "action", "formaction", "xlink:href", "poster", "srcset"):
                assert (value or "").startswith(("#", "data:image/png;base64,")), (tag, attribute, value)
    metas = [a for tag, a in page.elements if tag == "meta" and a.get("http-equiv")]
    assert metas == [{"http-equiv": "Content-Security-Policy", "content": CSP}]
    assert "display:none" not in "".join(page.styles)  # the request parameter's <style> stayed text
    assert name == "integrity" or "img" in tags, "the report has its figure"
    shown = "".join(page.text)
    missing = [field for field in SHOWN[name] if safe_text(PAYLOADS[field], None) not in shown]
    assert missing == []
    assert "\x1b" not in shown and "\u202e" not in shown  # controls and bidi overrides only as visible escapes


@pytest.mark.slow
def test_hostile_values_reach_the_results_verbatim_and_the_views_say_what_they_saw(
    hostile_reports: dict[str, ReportResult],
) -> None:
    results = {name: read_results(report.results) for name, report in hostile_reports.items() if report.results}
    assert set(results) == set(SHOWN)
    assert {r["case_id"] for r in results.values()} == {PAYLOADS["case_id"]}  # data is kept exact, escaping is a view
    assert results["actor"]["user_agents"] == {PAYLOADS["userAgent"]: 3}
    assert results["resource"]["arns"] == [BUCKET_ARN]
    assert results["alarm"]["alarms"] == [PAYLOADS["alarm"]]
    planted = {"status": "not-verified", "ok": False, "text": "NOT VERIFIED: 1 log file(s) unreferenced"}
    assert results["triage"]["integrity"] == planted  # the folder's object-metadata.json was used
    integrity = results["integrity"]
    assert integrity["integrity"] == planted
    assert integrity["validation"]["logs"] == {"unreferenced": 1, "valid": 6}
    assert integrity["acquired_at"] == "2024-03-14T03:10:00+00:00"  # from the acquisition manifest
    assert integrity["validation"]["problems"] == ["1 log file(s) unreferenced"]
