"""The SageMaker flow-definition operations the handler calls (CreateFlowDefinition,
DescribeFlowDefinition, DeleteFlowDefinition), emulated the way `service.py` and `server.py`
emulate Bedrock: state over time behind real HTTP on 127.0.0.1, in the protocol the botocore
sagemaker model declares (JSON 1.1: POST /, the operation in `X-Amz-Target`, errors as `__type`),
requests validated against that model, faults on demand from the same `FaultPlan`.

What the model cannot say is an assumption, named here:
- The request source "AWS/Bedrock/Evaluation" is accepted although the model's enum lacks it (the
  Bedrock user guide requires it); any other value outside the enum is a ValidationException.
- A new flow definition is Initializing until the `active_after_describes`-th DescribeFlowDefinition,
  then Active (or Failed, with a FailureReason, when `fail_next` was called).
- A deleted flow definition is Deleting until the `gone_after_describes`-th describe, which already
  finds nothing (ResourceNotFound); its name stays taken until then (ResourceInUse).
- Errors travel with status 400 (SageMaker's model gives none; its common errors are 400), except
  InternalServerException 500 and ServiceUnavailableException 503.
"""

from __future__ import annotations

import copy
import json
import socket
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

import botocore.session

from bedrock_evaluation.contract import BEDROCK_HUMAN_LOOP_REQUEST_SOURCE

from .faults import DelayFault, DropFault, ErrorFault
from .server import BedrockEmulator, _Server
from .service import ACCOUNT, REGION, ServiceError
from .service import _validate as validate_against

SAGEMAKER_MODEL = botocore.session.get_session().get_service_model("sagemaker")
OPERATIONS = ("CreateFlowDefinition", "DescribeFlowDefinition", "DeleteFlowDefinition")
TARGET_PREFIX = SAGEMAKER_MODEL.metadata["targetPrefix"]
ARN_PREFIX = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:flow-definition/"
INITIALIZING, ACTIVE, FAILED, DELETING = "Initializing", "Active", "Failed", "Deleting"
GONE = "(gone)"
_SOURCE = SAGEMAKER_MODEL.shape_for("AwsManagedHumanLoopRequestSource")
ACCEPTED_REQUEST_SOURCES = frozenset([*_SOURCE.enum, BEDROCK_HUMAN_LOOP_REQUEST_SOURCE])
_STATUS = {"InternalServerException": 500, "ServiceUnavailableException": 503}


@dataclass
class FlowDefinition:
    name: str
    arn: str
    request: dict[str, Any]
    created: datetime
    status: str = INITIALIZING
    history: list[str] = field(default_factory=lambda: [INITIALIZING])
    describes_left: int = 0
    failure_reason: str | None = None

    def move_to(self, status: str) -> None:
        self.status = status
        self.history.append(status)


class FlowDefinitionService:
    """The three operations over in-memory state. Thread-safe."""

    def __init__(
        self, *, active_after_describes: int = 2, gone_after_describes: int = 2, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.active_after_describes = active_after_describes
        self.gone_after_describes = gone_after_describes
        self._now = now
        self._lock = threading.RLock()
        self._flows: dict[str, FlowDefinition] = {}
        self.created: list[FlowDefinition] = []
        self.calls: Counter[str] = Counter()
        self._fail_next: str | None = None
        self._in_use: dict[str, int] = {}

    # --- the API --------------------------------------------------------------------------------

    def create_flow_definition(self, params: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls["CreateFlowDefinition"] += 1
            _validate("CreateFlowDefinition", params)
            source = params.get("HumanLoopRequestSource", {}).get("AwsManagedHumanLoopRequestSource")
            if source is not None and source not in ACCEPTED_REQUEST_SOURCES:
                raise ServiceError("ValidationException", f"Unsupported AwsManagedHumanLoopRequestSource {source}.")
            name = params["FlowDefinitionName"]
            if name in self._flows:
                raise ServiceError("ResourceInUse", f"Flow definition {name} already exists.")
            flow = FlowDefinition(
                name=name,
                arn=ARN_PREFIX + name,
                request={k: copy.deepcopy(v) for k, v in params.items() if k != "FlowDefinitionName"},
                created=self._now(),
                describes_left=self.active_after_describes,
                failure_reason=self._fail_next,
            )
            self._fail_next = None
            self._flows[name] = flow
            self.created.append(flow)
            return {"FlowDefinitionArn": flow.arn}

    def describe_flow_definition(self, params: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls["DescribeFlowDefinition"] += 1
            _validate("DescribeFlowDefinition", params)
            flow = self._existing(params["FlowDefinitionName"])
            if flow.status in (INITIALIZING, DELETING):
                flow.describes_left -= 1
                if flow.describes_left <= 0:
                    self._advance(flow)
                    if flow.status == GONE:
                        raise _not_found(flow.name)
            answer: dict[str, Any] = {
                "FlowDefinitionArn": flow.arn,
                "FlowDefinitionName": flow.name,
                "FlowDefinitionStatus": flow.status,
                "CreationTime": flow.created,
                "OutputConfig": copy.deepcopy(flow.request["OutputConfig"]),
                "RoleArn": flow.request["RoleArn"],
            }
            for member in ("HumanLoopRequestSource", "HumanLoopConfig"):
                if member in flow.request:
                    answer[member] = copy.deepcopy(flow.request[member])
            if flow.status == FAILED:
                answer["FailureReason"] = flow.failure_reason
            return answer

    def delete_flow_definition(self, params: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls["DeleteFlowDefinition"] += 1
            _validate("DeleteFlowDefinition", params)
            flow = self._existing(params["FlowDefinitionName"])
            if self._in_use.get(flow.name, 0) > 0:
                self._in_use[flow.name] -= 1
                raise ServiceError("ResourceInUse", f"Flow definition {flow.name} is in use by human loops.")
            if flow.status != DELETING:
                flow.move_to(DELETING)
                flow.describes_left = self.gone_after_describes
            return {}

    # --- control, for tests ---------------------------------------------------------------------

    def fail_next(self, reason: str) -> None:
        """The next flow definition created ends Failed with this reason instead of Active."""
        with self._lock:
            self._fail_next = reason

    def in_use(self, name: str, times: int) -> None:
        """The next `times` DeleteFlowDefinition of this name are refused: human loops still use it."""
        with self._lock:
            self._in_use[name] = times

    def delete_outside(self, name: str) -> None:
        """Someone deleted the flow definition outside the stack, and it is gone since."""
        with self._lock:
            flow = self._flows.pop(name)
            flow.move_to(GONE)

    def flows(self) -> list[FlowDefinition]:
        """The flow definitions SageMaker holds now (Deleting ones included)."""
        with self._lock:
            return list(self._flows.values())

    def status(self, name: str) -> str:
        with self._lock:
            flow = self._flows.get(name)
            return flow.status if flow is not None else GONE

    # --- inside ---------------------------------------------------------------------------------

    def _advance(self, flow: FlowDefinition) -> None:
        if flow.status == INITIALIZING:
            flow.move_to(FAILED if flow.failure_reason else ACTIVE)
        elif flow.status == DELETING:
            flow.move_to(GONE)
            del self._flows[flow.name]

    def _existing(self, name: str) -> FlowDefinition:
        flow = self._flows.get(name)
        if flow is None:
            raise _not_found(name)
        return flow


def _not_found(name: str) -> ServiceError:
    return ServiceError("ResourceNotFound", f"Flow definition {name} does not exist.")


def _validate(operation: str, params: Mapping[str, Any]) -> None:
    """botocore's checks and those it leaves to the service (maximums, patterns), as for Bedrock."""
    validate_against(operation, params, SAGEMAKER_MODEL)


class SageMakerEmulator(BedrockEmulator):
    """SageMaker's flow-definition API on 127.0.0.1, with the Bedrock emulator's faults on demand
    (`throttle`, `server_error`, `fail`, `drop_connection`, `delay`, `chaos`) by operation name."""

    thread_name = "sagemaker-emulator"

    @property
    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _JsonHandler

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep, **service_options: Any) -> None:
        super().__init__(sleep=sleep)
        self.flow_service = FlowDefinitionService(**service_options)

    def __enter__(self) -> SageMakerEmulator:
        self.start()
        return self

    def calls(self, operation: str) -> int:
        return self.flow_service.calls[operation]


class _JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        emulator = self.server.emulator
        assert isinstance(emulator, SageMakerEmulator)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target", "")
        operation = target.removeprefix(f"{TARGET_PREFIX}.")
        if self.path != "/" or operation not in OPERATIONS:
            self._send(400, {"__type": "UnknownOperationException", "message": f"No operation {target!r}"})
            return
        fault = emulator.faults.take(operation)
        emulator._record(operation, fault)
        if isinstance(fault, ErrorFault):
            self._send_error(ServiceError(fault.code, fault.message))
            return
        if isinstance(fault, DropFault) and not fault.after_processing:
            self._drop()
            return
        service = emulator.flow_service
        handlers = {
            "CreateFlowDefinition": service.create_flow_definition,
            "DescribeFlowDefinition": service.describe_flow_definition,
            "DeleteFlowDefinition": service.delete_flow_definition,
        }
        try:
            answer, error = handlers[operation](json.loads(body or b"{}")), None
        except ServiceError as service_error:
            answer, error = None, service_error
        except Exception:  # an emulator bug: say so loudly
            emulator.crashes.append(traceback.format_exc())
            answer, error = None, ServiceError("InternalServerException", "emulator crashed")
        if isinstance(fault, DropFault):
            self._drop()
            return
        if isinstance(fault, DelayFault):
            emulator.sleep(fault.seconds)
        try:
            if error is not None:
                self._send_error(error)
            else:
                self._send(200, answer)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _send_error(self, error: ServiceError) -> None:
        self._send(_STATUS.get(error.code, 400), {"__type": error.code, "message": error.message})

    def _send(self, status: int, answer: Any) -> None:
        payload = json.dumps(answer, default=_wire).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(payload)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _wire(value: Any) -> Any:
    # JSON 1.1 timestamps are epoch seconds.
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"cannot send {type(value).__name__}")
