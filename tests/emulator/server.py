"""The REST-JSON face of the emulator: a threaded HTTP server on 127.0.0.1 that a real boto3
client reaches through `endpoint_url`.

Routes, methods, success status codes, URI labels and query-string names all come from the
botocore service model. Errors travel the way botocore's rest-json parser reads them: the code in
the `x-amzn-ErrorType` header, the message in a JSON body, the status the model gives the error.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .faults import (
    INTERNAL_ERROR,
    THROTTLED,
    UNAVAILABLE,
    DelayFault,
    DropFault,
    ErrorFault,
    Fault,
    FaultPlan,
)
from .results import ScorePlan
from .service import GONE, OPERATIONS, SERVICE_MODEL, EvaluationService, Job, Outcome, ServiceError

ERROR_TYPE_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"

NOT_ASSUMABLE = "The provided role {role_arn} cannot be assumed: unable to assume role. Check its trust policy."
PASS_ROLE_DENIED = (
    "User: arn:aws:sts::123456789012:assumed-role/handler/fn is not authorized to perform: "
    "iam:PassRole on resource: {role_arn}"
)


@dataclass(frozen=True)
class Route:
    """One operation's place in the REST API, as the service model declares it."""

    operation: str
    method: str
    path: re.Pattern[str]
    status: int
    uri_members: Mapping[str, str]
    """URI label -> input member."""
    query_members: Mapping[str, Any]
    """Query-string name -> input member shape (its `.name` is the member)."""


def _routes() -> list[Route]:
    routes = []
    for operation in OPERATIONS:
        model = SERVICE_MODEL.operation_model(operation)
        uri_members: dict[str, str] = {}
        query_members: dict[str, Any] = {}
        for member, shape in model.input_shape.members.items():
            location = shape.serialization.get("location")
            if location == "uri":
                uri_members[shape.serialization.get("name", member)] = member
            elif location == "querystring":
                query_members[shape.serialization.get("name", member)] = (member, shape)
        template = model.http["requestUri"].split("?", 1)[0]
        regex = "".join(
            f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^}]+\})", template)
        )
        routes.append(
            Route(
                operation=operation,
                method=model.http["method"],
                path=re.compile(regex),
                status=int(model.http.get("responseCode", 200)),
                uri_members=uri_members,
                query_members=query_members,
            )
        )
    return routes


ROUTES = _routes()


def route_for(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in ROUTES:
        match = route.path.fullmatch(path)
        if route.method == method and match:
            # Labels arrive percent-encoded (an ARN's ':' and '/' included).
            return route, {route.uri_members[k]: unquote(v) for k, v in match.groupdict().items()}
    return None


@dataclass(frozen=True)
class Received:
    """One request the emulator received, and the fault it met (if any)."""

    operation: str
    fault: str | None


class BedrockEmulator:
    """Bedrock's evaluation-job API on 127.0.0.1, stateful, with faults on demand.

    Use as a context manager; `url` is the `endpoint_url` for boto3. `sleep` is how a delay fault
    waits (pass a virtual clock's to make slow answers cost no real time).
    """

    thread_name = "bedrock-emulator"

    @property
    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        """The protocol the server speaks (REST-JSON here; a subclass may speak another)."""
        return _Handler

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep, **service_options: Any) -> None:
        self.service = EvaluationService(**service_options)
        self.faults = FaultPlan()
        self.sleep = sleep
        self.received: list[Received] = []
        self.crashes: list[str] = []
        """Tracebacks of emulator bugs (answered as 500s); a trustworthy run has none."""
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> BedrockEmulator:
        server = _Server(("127.0.0.1", 0), self.handler_class)
        server.emulator = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> BedrockEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- faults -------------------------------------------------------------------------------------

    def throttle(self, operation: str, times: int = 1) -> None:
        """The next `times` requests of the operation get a ThrottlingException (429)."""
        self.faults.add(operation, THROTTLED, times)

    def server_error(self, operation: str, times: int = 1, status: int = 500) -> None:
        """The next `times` requests get an InternalServerException (500) or ServiceUnavailableException (503)."""
        faults = {500: INTERNAL_ERROR, 503: UNAVAILABLE}
        if status not in faults:
            raise ValueError(f"server errors are 500 or 503, not {status}")
        self.faults.add(operation, faults[status], times)

    def refuse_role(self, times: int = 1, *, pass_role: bool = False) -> None:
        """The next `times` creates meet IAM that has not propagated yet: the service role cannot be
        assumed (ValidationException), or the caller may not pass it (AccessDeniedException)."""
        fault = (
            ErrorFault("iam not ready", "AccessDeniedException", PASS_ROLE_DENIED)
            if pass_role
            else ErrorFault("iam not ready", "ValidationException", NOT_ASSUMABLE)
        )
        self.faults.add("CreateEvaluationJob", fault, times)

    def fail(self, operation: str, code: str, message: str, times: int = 1) -> None:
        """The next `times` requests get this error (any code of the model, e.g. ServiceQuotaExceededException)."""
        self.faults.add(operation, ErrorFault(f"error {code}", code, message), times)

    def delay(self, operation: str, seconds: float, times: int = 1) -> None:
        """The next `times` requests are served, but answered only after `seconds`."""
        self.faults.add(operation, DelayFault("slow response", seconds), times)

    def drop_connection(self, operation: str, times: int = 1, *, after_processing: bool = False) -> None:
        """The next `times` requests get no answer: the connection is closed, before or after the
        service acted on them."""
        kind = "dropped connection after processing" if after_processing else "dropped connection"
        self.faults.add(operation, DropFault(kind, after_processing=after_processing), times)

    def time_out(self, operation: str, seconds: float, times: int = 1) -> None:
        """The next `times` requests are served, and the client gives up waiting for the answer after
        `seconds` (its read timeout): the outcome is unknown to it."""
        self.faults.add(operation, DropFault("timed out after processing", after_processing=True, seconds=seconds), times)

    def chaos(self, every: int = 3) -> None:
        """From now on the next request without a planned fault, and every `every`-th after it, meets
        a passing fault (throttling, 500, 503, a connection dropped before the service saw it)."""
        self.faults.chaos(every)

    @property
    def faults_injected(self) -> int:
        return self.faults.total

    # --- state, for assertions ----------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        return self.service.jobs()

    @property
    def created(self) -> list[Job]:
        return list(self.service.created)

    def status(self, job_arn: str) -> str:
        """The job's status now, or GONE."""
        job = self.service.job(job_arn)
        return job.status if job is not None else GONE

    def history(self, job_arn: str) -> list[str]:
        return list(self.service.ever(job_arn).history)

    def finish(self, job_arn: str, status: str | None = None, message: str | None = None) -> None:
        """The job ends now: as its Outcome says, or as `status` (Completed, or Failed with `message`)."""
        self.service.finish(job_arn, status, message)

    def plan(self, job_arn: str, *, outcome: Outcome | None = None, scores: ScorePlan | None = None) -> None:
        self.service.plan(job_arn, outcome=outcome, scores=scores)

    def stop_outside(self, job_arn: str) -> None:
        self.service.stop_outside(job_arn)

    def settle(self) -> None:
        self.service.settle()

    def seed_job(self, request: Mapping[str, Any], status: str = "InProgress") -> Job:
        return self.service.seed_job(request, status)

    def calls(self, operation: str) -> int:
        """Requests of this operation that reached the service."""
        return self.service.calls[operation]

    def _record(self, operation: str, fault: Fault | None) -> None:
        with self._lock:
            self.received.append(Received(operation, fault.kind if fault else None))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    emulator: BedrockEmulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up on a slow answer closes its end: not an emulator bug.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm holds the
        # body until the client's delayed ACK, some 40 ms per request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _serve(self) -> None:
        emulator = self.server.emulator
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        found = route_for(self.command, url.path)
        if found is None:
            self._send(404, {"message": f"No operation at {self.command} {url.path}"}, error="UnknownOperationException")
            return
        route, labels = found
        fault = emulator.faults.take(route.operation)
        emulator._record(route.operation, fault)
        if isinstance(fault, ErrorFault):
            self._send_error(ServiceError(fault.code, fault.message.format(role_arn=_role_arn(body))))
            return
        if isinstance(fault, DropFault) and not fault.after_processing:
            self._drop()
            return
        try:
            status, answer, error = route.status, _call(emulator.service, route, labels, url.query, body), None
        except ServiceError as service_error:
            status, answer, error = service_error.status, None, service_error
        except Exception:  # an emulator bug: say so loudly, in the answer and in `crashes`
            emulator.crashes.append(traceback.format_exc())
            status, answer, error = 500, None, ServiceError("InternalServerException", "emulator crashed")
        if isinstance(fault, DropFault):
            emulator.sleep(fault.seconds)
            self._drop()
            return
        if isinstance(fault, DelayFault):
            emulator.sleep(fault.seconds)
        try:
            if error is not None:
                self._send_error(error)
            else:
                self._send(status, answer)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client stopped waiting

    def _send_error(self, error: ServiceError) -> None:
        self._send(error.status, {"message": error.message}, error=error.code)

    def _send(self, status: int, answer: Any, *, error: str | None = None) -> None:
        payload = json.dumps(answer, default=_wire).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if error is not None:
            self.send_header("x-amzn-ErrorType", f"{error}:{ERROR_TYPE_NAMESPACE}")
        self.end_headers()
        self.wfile.write(payload)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _call(service: EvaluationService, route: Route, labels: dict[str, str], query: str, body: bytes) -> Any:
    if route.operation == "CreateEvaluationJob":
        return service.create_evaluation_job(_json(body))
    if route.operation == "GetEvaluationJob":
        return service.get_evaluation_job(labels["jobIdentifier"])
    if route.operation == "ListEvaluationJobs":
        return service.list_evaluation_jobs(_query(route, query))
    if route.operation == "StopEvaluationJob":
        return service.stop_evaluation_job(labels["jobIdentifier"])
    if route.operation == "BatchDeleteEvaluationJob":
        return service.batch_delete_evaluation_job(_json(body))
    if route.operation == "TagResource":
        return service.tag_resource(_json(body))
    if route.operation == "UntagResource":
        return service.untag_resource(_json(body))
    if route.operation == "ListTagsForResource":
        return service.list_tags_for_resource(_json(body))
    raise AssertionError(f"no implementation for {route.operation}")


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError as error:
        raise ServiceError("ValidationException", f"The request body is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise ServiceError("ValidationException", "The request body must be a JSON object.")
    return value


def _query(route: Route, query: str) -> dict[str, Any]:
    """Query-string values, typed as the model declares them; names the model does not know are ignored."""
    params: dict[str, Any] = {}
    for name, values in parse_qs(query, keep_blank_values=True).items():
        if name not in route.query_members:
            continue
        member, shape = route.query_members[name]
        value = values[-1]
        try:
            if shape.type_name in ("integer", "long"):
                params[member] = int(value)
            elif shape.type_name == "timestamp":
                params[member] = datetime.fromisoformat(value.replace("Z", "+00:00"))
            else:
                params[member] = value
        except ValueError:
            raise ServiceError("ValidationException", f"{name}={value!r} is not a valid {shape.type_name}") from None
    return params


def _role_arn(body: bytes) -> str:
    try:
        return str(json.loads(body or b"{}").get("roleArn", "the service role"))
    except (ValueError, AttributeError):
        return "the service role"


def _wire(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    raise TypeError(f"cannot send {type(value).__name__}")
