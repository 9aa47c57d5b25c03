"""S3 calls, and the KMS calls S3 makes on a caller's behalf (SSE-KMS with bucket keys).

Object calls (``GetObject``, ``PutObject``, ``ListObjects``) are data events:
``eventCategory: Data``, ``managementEvent: false``, ``resources`` naming the object and the
bucket. ``ListObjectsV2`` is recorded as ``ListObjects`` with ``list-type: "2"``.
"""

from __future__ import annotations

from dataclasses import replace

from forensics.scenarios.api.call import Call, Error
from forensics.scenarios.identities import JSON

S3_ACCESS_DENIED = Error("AccessDenied", "Access Denied")


def no_such_bucket_policy() -> Error:
    return Error("NoSuchBucketPolicy", "The bucket policy does not exist")


def _bucket_resource(account: str, bucket: str) -> JSON:
    return {"accountId": account, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}


def _s3_host(bucket: str | None) -> str:
    return f"{bucket}.s3.{{region}}.amazonaws.com" if bucket else "s3.{region}.amazonaws.com"


def _s3_additional(bytes_out: int, bytes_in: int = 0) -> JSON:
    return {
        "SignatureVersion": "SigV4",
        "CipherSuite": "TLS_AES_128_GCM_SHA256",
        "bytesTransferredIn": bytes_in,
        "AuthenticationMethod": "AuthHeader",
        "bytesTransferredOut": bytes_out,
    }


def list_buckets(bytes_out: int = 1024) -> Call:
    return Call(
        "s3.amazonaws.com",
        "ListBuckets",
        True,
        request={"Host": "s3.{region}.amazonaws.com"},
        additional=_s3_additional(bytes_out),
        host=_s3_host(None),
    )


def _bucket_call(account: str, bucket: str, name: str, read_only: bool, marker: str, extra: JSON | None = None) -> Call:
    request: JSON = {**(extra or {}), "bucketName": bucket, "Host": _s3_host(bucket), marker: ""}
    return Call(
        "s3.amazonaws.com",
        name,
        read_only,
        request=request,
        resources=(_bucket_resource(account, bucket),),
        additional=_s3_additional(0 if not read_only else 512),
        host=_s3_host(bucket),
    )


def get_bucket_acl(account: str, bucket: str) -> Call:
    return _bucket_call(account, bucket, "GetBucketAcl", True, "acl")


def get_bucket_policy(account: str, bucket: str) -> Call:
    return _bucket_call(account, bucket, "GetBucketPolicy", True, "policy")


def get_bucket_public_access_block(account: str, bucket: str) -> Call:
    return _bucket_call(account, bucket, "GetBucketPublicAccessBlock", True, "publicAccessBlock")


def delete_bucket_public_access_block(account: str, bucket: str) -> Call:
    return _bucket_call(account, bucket, "DeleteBucketPublicAccessBlock", False, "publicAccessBlock")


def put_bucket_public_access_block(account: str, bucket: str) -> Call:
    """``PutBucketPublicAccessBlock`` blocking every kind of public access."""
    block = {
        "PublicAccessBlockConfiguration": {
            "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        }
    }
    return _bucket_call(account, bucket, "PutBucketPublicAccessBlock", False, "publicAccessBlock", block)


def delete_bucket_policy(account: str, bucket: str) -> Call:
    return _bucket_call(account, bucket, "DeleteBucketPolicy", False, "policy")


def public_read_policy(bucket: str) -> JSON:
    """A bucket policy that lets anyone (``Principal: "*"``) read every object."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }


def put_bucket_policy(account: str, bucket: str, policy: JSON) -> Call:
    return _bucket_call(account, bucket, "PutBucketPolicy", False, "policy", {"bucketPolicy": policy})


def put_bucket_acl_public_read(account: str, bucket: str, owner_id: str) -> Call:
    """``PutBucketAcl`` granting ``READ`` to the ``AllUsers`` group."""
    acl = {
        "AccessControlList": {
            "Grant": [
                {"Grantee": {"xsi:type": "CanonicalUser", "ID": owner_id}, "Permission": "FULL_CONTROL"},
                {
                    "Grantee": {"xsi:type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
                    "Permission": "READ",
                },
            ]
        },
        "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
        "Owner": {"ID": owner_id},
    }
    return _bucket_call(account, bucket, "PutBucketAcl", False, "acl", {"AccessControlPolicy": acl})


def _object_call(
    account: str, bucket: str, key: str, name: str, read_only: bool, size: int, response: JSON | None
) -> Call:
    return Call(
        "s3.amazonaws.com",
        name,
        read_only,
        request={"bucketName": bucket, "Host": _s3_host(bucket), "key": key},
        response=response,
        resources=(
            {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
            _bucket_resource(account, bucket),
        ),
        additional=_s3_additional(size if read_only else 0, 0 if read_only else size),
        host=_s3_host(bucket),
        category="Data",
    )


def get_object(account: str, bucket: str, key: str, size: int) -> Call:
    """An S3 ``GetObject`` data event."""
    return _object_call(account, bucket, key, "GetObject", True, size, None)


def put_object(account: str, bucket: str, key: str, size: int, kms_key_arn: str | None = None) -> Call:
    """An S3 ``PutObject`` data event (SSE-KMS with a bucket key when ``kms_key_arn`` is given)."""
    response = (
        {
            "x-amz-server-side-encryption-aws-kms-key-id": kms_key_arn,
            "x-amz-server-side-encryption": "aws:kms",
            "x-amz-server-side-encryption-bucket-key-enabled": "true",
        }
        if kms_key_arn
        else {"x-amz-server-side-encryption": "AES256"}
    )
    return _object_call(account, bucket, key, "PutObject", False, size, response)


def list_objects(account: str, bucket: str, prefix: str, bytes_out: int) -> Call:
    """``ListObjectsV2``, which CloudTrail records as ``ListObjects`` with ``list-type: "2"``."""
    return Call(
        "s3.amazonaws.com",
        "ListObjects",
        True,
        request={
            "list-type": "2",
            "bucketName": bucket,
            "encoding-type": "url",
            "prefix": prefix,
            "Host": _s3_host(bucket),
        },
        resources=(_bucket_resource(account, bucket),),
        additional=_s3_additional(bytes_out),
        host=_s3_host(bucket),
        category="Data",
    )


def _kms_key_resource(key_arn: str) -> tuple[JSON, ...]:
    return ({"accountId": key_arn.split(":")[4], "type": "AWS::KMS::Key", "ARN": key_arn},)


def kms_decrypt(key_arn: str, bucket: str) -> Call:
    """``Decrypt`` of an S3 bucket key (``encryptionContext`` names the bucket)."""
    return Call(
        "kms.amazonaws.com",
        "Decrypt",
        True,
        request={
            "encryptionContext": {"aws:s3:arn": f"arn:aws:s3:::{bucket}"},
            "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
        },
        resources=_kms_key_resource(key_arn),
    )


def kms_generate_data_key(key_arn: str, bucket: str) -> Call:
    return Call(
        "kms.amazonaws.com",
        "GenerateDataKey",
        True,
        request={"keyId": key_arn, "encryptionContext": {"aws:s3:arn": f"arn:aws:s3:::{bucket}"}, "keySpec": "AES_256"},
        resources=_kms_key_resource(key_arn),
    )


def get_bucket_versioning(account: str, bucket: str) -> Call:
    return _bucket_call(account, bucket, "GetBucketVersioning", True, "versioning")


def put_bucket_versioning(account: str, bucket: str, status: str) -> Call:
    """``PutBucketVersioning`` to ``Enabled`` or ``Suspended`` (suspending keeps old versions)."""
    configuration = {"VersioningConfiguration": {"Status": status, "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/"}}
    return _bucket_call(account, bucket, "PutBucketVersioning", False, "versioning", configuration)


def put_bucket_lifecycle_expire_all(account: str, bucket: str, rule_id: str, days: int) -> Call:
    """``PutBucketLifecycle`` (``PutBucketLifecycleConfiguration``): expire every object and every
    noncurrent version after ``days`` days."""
    configuration = {
        "LifecycleConfiguration": {
            "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
            "Rule": {
                "ID": rule_id,
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "Expiration": {"Days": days},
                "NoncurrentVersionExpiration": {"NoncurrentDays": days},
            },
        }
    }
    return _bucket_call(account, bucket, "PutBucketLifecycle", False, "lifecycle", configuration)


def delete_bucket_lifecycle(account: str, bucket: str) -> Call:
    return _bucket_call(account, bucket, "DeleteBucketLifecycle", False, "lifecycle")


def delete_object(account: str, bucket: str, key: str) -> Call:
    """An S3 ``DeleteObject`` data event (without a version: a delete marker hides the object)."""
    return _object_call(account, bucket, key, "DeleteObject", False, 0, None)


def delete_objects(account: str, bucket: str) -> Call:
    """An S3 ``DeleteObjects`` (multi-object delete) data event: CloudTrail does not record which keys."""
    return Call(
        "s3.amazonaws.com",
        "DeleteObjects",
        False,
        request={"bucketName": bucket, "Host": _s3_host(bucket), "delete": ""},
        resources=(
            {"type": "AWS::S3::Object", "ARNPrefix": f"arn:aws:s3:::{bucket}/"},
            _bucket_resource(account, bucket),
        ),
        additional=_s3_additional(0, 2048),
        host=_s3_host(bucket),
        category="Data",
    )


def kms_disabled(key_arn: str) -> Error:
    """How S3 fails a write or a read that needs a disabled KMS key."""
    return Error("KMS.DisabledException", f"{key_arn} is disabled.")


def no_such_key() -> Error:
    return Error("NoSuchKey", "The specified key does not exist.")


def get_object_version(account: str, bucket: str, key: str, version_id: str, size: int) -> Call:
    """An S3 ``GetObject`` data event for one version of an object."""
    call = _object_call(account, bucket, key, "GetObject", True, size, None)
    return replace(call, request={**(call.request or {}), "versionId": version_id})
