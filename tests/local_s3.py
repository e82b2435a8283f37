"""A local Amazon S3 for tests: moto's server on 127.0.0.1, with faults on demand.

`LocalS3` runs moto's `ThreadedMotoServer` on a free port. A real boto3 client reaches it through
`endpoint_url` (`client()` makes one), so the reads a test exercises go through botocore's real
serialization, error parsing and retries. It is also a results sink for the Bedrock emulator
(`put_object`, creating the bucket on demand).

moto has no fault hooks, so a small WSGI layer wraps moto's app and answers some requests itself,
the way S3 does: with S3's error XML (`<Error><Code>SlowDown</Code>...`) and S3's status code.
Faults come from the Bedrock emulator's `FaultPlan` (one queue of single-shot faults per
operation) and are counted in `received`:
- `throttle(operation, times)`: the next `times` requests of ListObjectsV2, GetObject, ... get
  SlowDown with HTTP 503, which botocore's standard retry mode retries with its throttling backoff;
- `server_error(operation, times)`: InternalError with HTTP 500, a transient error it also retries;
- `hide(bucket, key)`: the object is still listed but reading it (GetObject, HeadObject) finds
  NoSuchKey (404), as when it is deleted between a listing and a read.

Requests are recognised in path-style addressing only (`/<bucket>/<key>`), which botocore uses for
an endpoint that is an IP address (and `client()` asks for explicitly).
"""

from __future__ import annotations

import logging
import threading
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import boto3
from botocore.config import Config
from emulator.faults import ErrorFault, Fault, FaultPlan
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, s3={"addressing_style": "path"})

SLOW_DOWN = ErrorFault("throttling", "SlowDown", "Please reduce your request rate.")
INTERNAL_ERROR = ErrorFault("server error 500", "InternalError", "We encountered an internal error. Please try again.")
NO_SUCH_KEY = "The specified key does not exist."
_STATUS = {"SlowDown": 503, "InternalError": 500, "ServiceUnavailable": 503, "NoSuchKey": 404}
"""The HTTP status each S3 error code travels with (Amazon S3 API reference, "Error responses")."""

# Subresources that make a GET or HEAD of a key something other than reading the object.
_OBJECT_SUBRESOURCES = frozenset({"acl", "attributes", "legal-hold", "retention", "tagging", "torrent", "uploadId", "restore"})


@dataclass(frozen=True)
class Received:
    """One request LocalS3 received, and the fault it met (if any)."""

    operation: str
    bucket: str
    key: str
    fault: str | None


def operation_of(method: str, path: str, query: str) -> tuple[str, str, str]:
    """The S3 operation a path-style request asks for, with its bucket and key ("" if none).

    Only the operations tests read and write are named; anything else is "Other".
    """
    bucket, _, key = path.lstrip("/").partition("/")
    params = parse_qs(query, keep_blank_values=True)
    if not bucket:
        return ("ListBuckets" if method == "GET" else "Other"), "", ""
    if not key:
        if method == "GET" and params.get("list-type") == ["2"]:
            return "ListObjectsV2", bucket, ""
        if method == "GET" and not params:
            return "ListObjects", bucket, ""
        if method == "PUT" and not params:
            return "CreateBucket", bucket, ""
        return "Other", bucket, ""
    if _OBJECT_SUBRESOURCES & params.keys():
        return "Other", bucket, key
    operations = {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject", "DELETE": "DeleteObject"}
    return operations.get(method, "Other"), bucket, key


class _FaultLayer:
    """WSGI middleware in front of moto's app: answers a request itself when a fault is due."""

    def __init__(self, app: Callable[..., Iterable[bytes]], s3: LocalS3) -> None:
        self.app = app
        self.s3 = s3

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # PATH_INFO is the percent-decoded path as WSGI carries it: UTF-8 bytes read as Latin-1.
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8")
        method = environ["REQUEST_METHOD"]
        operation, bucket, key = operation_of(method, path, environ.get("QUERY_STRING", ""))
        fault = self.s3.faults.take(operation)
        if fault is None and operation in ("GetObject", "HeadObject") and self.s3._read_hidden(bucket, key):
            fault = ErrorFault("hidden object", "NoSuchKey", NO_SUCH_KEY)
        self.s3._record(Received(operation, bucket, key, fault.kind if fault else None))
        if isinstance(fault, ErrorFault):
            return _error(start_response, fault, resource=path, key=key, head=method == "HEAD")
        if fault is not None:
            raise AssertionError(f"LocalS3 injects error faults only, not {fault}")
        with self.s3._lock:
            self.s3.calls[operation] += 1
        return self.app(environ, start_response)


def _error(start_response: Callable[..., Any], fault: ErrorFault, *, resource: str, key: str, head: bool) -> list[bytes]:
    """An S3 error answer: XML `<Error>` with Code, Message, the resource (and Key for NoSuchKey),
    RequestId and HostId; a HEAD answer has the status and headers but no body."""
    request_id = uuid.uuid4().hex[:16].upper()
    extra = f"<Key>{escape(key)}</Key>" if fault.code == "NoSuchKey" else ""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{fault.code}</Code><Message>{escape(fault.message)}</Message>{extra}"
        f"<Resource>{escape(resource)}</Resource><RequestId>{request_id}</RequestId>"
        f"<HostId>{uuid.uuid4().hex}</HostId></Error>"
    ).encode()
    status = _STATUS[fault.code]
    reason = {404: "Not Found", 500: "Internal Server Error", 503: "Slow Down" if fault.code == "SlowDown" else "Service Unavailable"}
    start_response(
        f"{status} {reason[status]}",
        [
            ("Content-Type", "application/xml"),
            ("Content-Length", str(len(body))),
            ("x-amz-request-id", request_id),
            ("x-amz-id-2", uuid.uuid4().hex),
        ],
    )
    return [] if head else [body]


class LocalS3:
    """moto's S3 on 127.0.0.1 with a free port, and faults on demand. Thread-safe.

    Use as a context manager (or `start()` / `stop()`); `reset()` empties it between tests.
    """

    def __init__(self) -> None:
        self.faults = FaultPlan()
        self.received: list[Received] = []
        """Every request, in order, with the fault it met."""
        self.calls: Counter[str] = Counter()
        """Requests that reached moto, per operation (not those a fault answered)."""
        self._hidden: dict[tuple[str, str], int | None] = {}
        self._buckets: set[str] = set()
        self._lock = threading.Lock()
        self._server: ThreadedMotoServer | None = None
        self._client: Any = None

    # --- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> LocalS3:
        # moto's server logs every request through werkzeug's logger at INFO.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        # ThreadedMotoServer builds its WSGI server in start(); its app is what each request runs.
        wsgi = server._server
        if wsgi is None or not hasattr(wsgi, "app"):
            raise RuntimeError("moto's ThreadedMotoServer no longer exposes its WSGI server; LocalS3 needs a new seam")
        wsgi.app = _FaultLayer(wsgi.app, self)
        self._server = server
        self._client = self.client()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> LocalS3:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("LocalS3 is not running")
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def reset(self) -> None:
        """Empty S3 (moto's own reset: every bucket and object goes) and forget faults and requests."""
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")).close()
        with self._lock:
            self.faults = FaultPlan()
            self.received.clear()
            self.calls.clear()
            self._hidden.clear()
            self._buckets.clear()

    # --- clients and buckets ------------------------------------------------------------------------

    def client(self, config: Config | None = None) -> Any:
        """A boto3 S3 client for this S3: dummy credentials, us-east-1, path-style addressing,
        botocore's standard retry mode (merged with `config`)."""
        return boto3.client(
            "s3",
            region_name=REGION,
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=CLIENT_CONFIG.merge(config) if config else CLIENT_CONFIG,
        )

    def bucket(self, name: str) -> str:
        """The bucket, created if it does not exist yet."""
        with self._lock:
            if name in self._buckets:
                return name
        try:
            self._client.create_bucket(Bucket=name)
        except self._client.exceptions.BucketAlreadyOwnedByYou:
            pass  # another thread made it first
        with self._lock:
            self._buckets.add(name)
        return name

    def put_object(self, *, Bucket: str, Key: str, Body: bytes | str, **kwargs: Any) -> Any:
        """boto3's put_object, into a bucket made on demand: LocalS3 is a results sink."""
        return self._client.put_object(Bucket=self.bucket(Bucket), Key=Key, Body=Body, **kwargs)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every key under the prefix, in S3's (lexicographic) order (listed like any request: planned faults apply)."""
        pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    # --- faults -------------------------------------------------------------------------------------

    def throttle(self, operation: str, times: int = 1) -> None:
        """The next `times` requests of the operation (ListObjectsV2, GetObject, ...) get SlowDown (503)."""
        self.faults.add(operation, SLOW_DOWN, times)

    def server_error(self, operation: str, times: int = 1) -> None:
        """The next `times` requests of the operation get InternalError (500)."""
        self.faults.add(operation, INTERNAL_ERROR, times)

    def fail(self, operation: str, fault: Fault, times: int = 1) -> None:
        """The next `times` requests of the operation get this error (an `ErrorFault` with an S3 code)."""
        if not isinstance(fault, ErrorFault) or fault.code not in _STATUS:
            raise ValueError(f"LocalS3 answers the errors {sorted(_STATUS)}, not {fault}")
        self.faults.add(operation, fault, times)

    def hide(self, bucket: str, key: str, times: int | None = None) -> None:
        """Reads of the object (GetObject, HeadObject) find NoSuchKey while listings still show it:
        the next `times` reads, or every read (None)."""
        if times is not None and times < 1:
            raise ValueError("an object is hidden from at least one read")
        with self._lock:
            self._hidden[(bucket, key)] = times

    @property
    def injected(self) -> Counter[str]:
        """Faults met so far, per kind: planned ones and reads of hidden objects."""
        with self._lock:
            return Counter(r.fault for r in self.received if r.fault is not None)

    # --- inside -------------------------------------------------------------------------------------

    def _read_hidden(self, bucket: str, key: str) -> bool:
        """One more read of the object: whether it is hidden from this one."""
        with self._lock:
            if (bucket, key) not in self._hidden:
                return False
            left = self._hidden[(bucket, key)]
            if left is not None:
                if left <= 1:
                    del self._hidden[(bucket, key)]
                else:
                    self._hidden[(bucket, key)] = left - 1
            return True

    def _record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)
