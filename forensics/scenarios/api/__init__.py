"""The AWS API calls scenarios make, one module per service, named after the boto3 client.

``from forensics.scenarios.api import iam, s3`` then ``s3.get_object(account, bucket, key, size)``
returns a :class:`~forensics.scenarios.api.call.Call` with the ``requestParameters``,
``responseElements`` and ``resources`` CloudTrail records for that API.
"""

from __future__ import annotations

from forensics.scenarios.api.call import GLOBAL_REGION, Call, Error, access_denied

__all__ = ["GLOBAL_REGION", "Call", "Error", "access_denied"]
