"""The shared service fixtures reach real servers (and would fail, not skip, without them)."""

from __future__ import annotations

import boto3
import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError

from tests.support.seaweed import S3Server


@pytest.mark.mariadb
def test_private_mysql_database_is_empty_and_writable(mysql_url: str) -> None:
    engine = sa.create_engine(mysql_url)
    with engine.begin() as conn:
        assert conn.execute(sa.text("SHOW TABLES")).fetchall() == []
        conn.execute(sa.text("CREATE TABLE t (x INT)"))
        conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        assert conn.execute(sa.text("SELECT x FROM t")).scalar_one() == 1
    engine.dispose()


@pytest.mark.s3
def test_s3_server_enforces_signatures(s3_server: S3Server, s3_bucket: str) -> None:
    good = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        aws_access_key_id=s3_server.access_key,
        aws_secret_access_key=s3_server.secret_key,
        region_name="us-east-1",
    )
    good.put_object(Bucket=s3_bucket, Key="k", Body=b"v")
    bad = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        aws_access_key_id=s3_server.access_key,
        aws_secret_access_key="wrong-secret",
        region_name="us-east-1",
    )
    with pytest.raises(ClientError) as caught:
        bad.get_object(Bucket=s3_bucket, Key="k")
    assert caught.value.response["Error"]["Code"] in {"SignatureDoesNotMatch", "AccessDenied"}
    assert good.get_object(Bucket=s3_bucket, Key="k")["Body"].read() == b"v"
