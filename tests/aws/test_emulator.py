"""The AWS test harness itself: the emulator answers through AWS_ENDPOINT_URL and is emptied between tests."""

from __future__ import annotations

import pytest

from reconciler.clients.aws import ClientError, connect, error_code, explain
from tests.support.moto_server import MotoServer

pytestmark = pytest.mark.aws


@pytest.mark.parametrize("round_", [1, 2])
def test_each_test_starts_with_an_empty_emulator(aws: MotoServer, round_: int) -> None:
    s3 = connect("s3", "us-east-1")
    assert s3.list_buckets()["Buckets"] == []
    s3.create_bucket(Bucket=f"left-behind-{round_}")


def test_a_missing_bucket_is_explained_with_its_code(aws: MotoServer) -> None:
    s3 = connect("s3", "us-east-1")
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_versioning(Bucket="no-such-bucket")
    assert error_code(caught.value) == "NoSuchBucket"
    assert explain(caught.value).startswith("NoSuchBucket (GetBucketVersioning)")
