"""Human review workflows: the SageMaker flow definition a human evaluation job routes its prompts
through, which CloudFormation has no resource type for.

Create makes one under a generated name (prefix + digest of the request, the stack and the resource)
and `is_complete` waits until SageMaker reports it Active; a Failed one fails the deploy with
SageMaker's own FailureReason. A flow definition cannot be changed: Update with a changed request
makes a new one under a new name (CloudFormation then deletes the old resource). Delete deletes it
and waits until it is gone, also while the human loops of a stopping job still use it; one that is
already gone is fine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bedrock import (
    CALL_ERRORS,
    FlowDefinitions,
    error_code,
    error_message,
    flow_definition_input_shape,
    is_not_ready,
    is_transient,
)
from events import Properties, ResourceEvent, Response
from request import Shape, generated_job_name, restore_types
from runtime import Budget, InvalidProperties, ResourceError, backoff, module_logger, transient_or_fail

from bedrock_evaluation.contract import (
    ATTR_FLOW_DEFINITION_ARN,
    ATTR_FLOW_DEFINITION_NAME,
    PROP_FLOW_DEFINITION,
    PROP_FLOW_DEFINITION_NAME_PREFIX,
    name_prefix_problem,
)

logger = module_logger("flow_definition")

# The flow definition ARN of the SageMaker model (DescribeFlowDefinition's FlowDefinitionArn), with
# the name (FlowDefinitionName's pattern) captured.
FLOW_DEFINITION_ARN = re.compile(r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]+:[0-9]{12}:flow-definition/([a-z0-9](?:-*[a-z0-9]){0,62})")
ACTIVE, INITIALIZING, FAILED, DELETING = "Active", "Initializing", "Failed", "Deleting"
# How long Create keeps retrying while the new SageMaker role propagates through IAM.
IAM_RETRY_WINDOW_SECONDS = 240.0
NAME = "FlowDefinitionName"


class FlowDefinitionError(ResourceError):
    """A failure of one flow definition (named by its name or ARN) for CloudFormation to report."""

    what = "flow definition"


@dataclass(frozen=True, kw_only=True)
class FlowSpec:
    request: dict[str, object]
    """The CreateFlowDefinition parameters, without FlowDefinitionName."""
    name: str


def flow_spec(properties: Properties | None, *, stack_id: str, logical_id: str, input_shape: Shape | None = None) -> FlowSpec:
    """Read and check the resource properties; raise InvalidProperties with the reason. Numbers
    (TaskCount, the time limits), which CloudFormation delivers as strings, are restored from the
    CreateFlowDefinition shape of the handler's SageMaker model."""
    if properties is None:
        raise InvalidProperties("the event has no resource properties")
    raw = properties.get(PROP_FLOW_DEFINITION)
    if not isinstance(raw, Mapping):
        raise InvalidProperties(f"property {PROP_FLOW_DEFINITION} must be an object, got {type(raw).__name__}")
    shape: Shape = input_shape if input_shape is not None else flow_definition_input_shape()
    request = restore_types(raw, shape, PROP_FLOW_DEFINITION)
    assert isinstance(request, dict)  # a structure shape restores a mapping to a dict
    if NAME in request:
        raise InvalidProperties(f"{PROP_FLOW_DEFINITION}.{NAME} must be left out: the handler names each version")
    prefix = properties.get(PROP_FLOW_DEFINITION_NAME_PREFIX)
    problem = name_prefix_problem(prefix)
    if problem is not None:
        raise InvalidProperties(f"property {PROP_FLOW_DEFINITION_NAME_PREFIX} is {prefix!r}; it {problem}")
    return FlowSpec(request=request, name=generated_job_name(prefix, request, stack_id=stack_id, logical_id=logical_id))


def on_create(event: ResourceEvent, flows: FlowDefinitions, budget: Budget) -> Response:
    spec = _spec(event, event.properties)
    return _answer(spec, _create(spec, flows, budget))


def on_update(event: ResourceEvent, flows: FlowDefinitions, budget: Budget) -> Response:
    new = _spec(event, event.properties)
    try:
        old: FlowSpec | None = _spec(event, event.old_properties)
    except InvalidProperties:
        old = None
    # The name is a digest of the request: the same name is the same flow definition.
    if old is not None and old.name == new.name and _name_of(event.physical_id) == new.name:
        logger.info("request unchanged; keeping %s", event.physical_id)
        return _answer(new, event.physical_id)
    return _answer(new, _create(new, flows, budget))


def on_delete(event: ResourceEvent, flows: FlowDefinitions) -> Response:
    answer: Response = {"PhysicalResourceId": event.physical_id}
    name = _name_of(event.physical_id)
    if name is None:
        # A failed Create's marker, or an id CloudFormation invented: nothing was made.
        logger.info("physical id %r is not a flow definition; nothing to delete", event.physical_id)
        return answer
    _delete(name, flows)
    return answer


def is_complete(event: ResourceEvent, flows: FlowDefinitions) -> bool:
    """Create and Update wait until the flow definition is Active; Delete until it is gone."""
    name = _name_of(event.physical_id)
    if name is None:
        if event.request_type == "Delete":
            return True
        raise InvalidProperties(f"physical id {event.physical_id!r} is not a flow definition ARN")
    try:
        described = flows.describe(name)
    except CALL_ERRORS as error:
        # An exception here fails the resource at once, so a passing fault is "not yet".
        transient_or_fail(error, logger, f"reading {name}", lambda text: FlowDefinitionError(name, text))
        return False
    if event.request_type == "Delete":
        if described is None:
            return True
        if described.get("FlowDefinitionStatus") != DELETING:
            _delete(name, flows)  # on_delete's call did not get through, or the flow definition was in use
        return False
    return _active(name, described)


def _active(name: str, described: Mapping[str, object] | None) -> bool:
    if described is None:
        raise FlowDefinitionError(name, "it no longer exists; it was deleted outside the stack")
    status = described.get("FlowDefinitionStatus")
    if status == ACTIVE:
        logger.info("%s is active", name)
        return True
    if status == INITIALIZING:
        return False
    reason = described.get("FailureReason") or "no reason given"
    raise FlowDefinitionError(name, f"it is {status}: {reason}")


def _delete(name: str, flows: FlowDefinitions) -> None:
    try:
        flows.delete(name)
        logger.info("deleting %s", name)
    except CALL_ERRORS as error:
        code = error_code(error)
        if code == "ResourceNotFound":
            logger.info("%s is already gone", name)
        elif code == "ResourceInUse" or is_transient(error):
            # Human loops of a stopping job may still use it: is_complete tries again.
            logger.warning("cannot delete %s yet, will try again: %s", name, error_message(error))
        else:
            raise FlowDefinitionError(name, f"could not delete: {error_message(error)}") from error


def _create(spec: FlowSpec, flows: FlowDefinitions, budget: Budget) -> str:
    clock = budget.clock
    started = clock.monotonic()
    iam_budget = budget.within(IAM_RETRY_WINDOW_SECONDS)
    attempt = 0
    while True:
        try:
            arn = flows.create(spec.request, name=spec.name)
            logger.info("created %s as %s", spec.name, arn)
            return arn
        except CALL_ERRORS as error:
            if error_code(error) == "ResourceInUse":
                # The name is a digest of this resource and request: an earlier attempt made it (its
                # answer lost), or a rollback returns to it. A Failed one is reported by is_complete.
                found = _existing(spec, flows)
                if found is not None:
                    return found
            elif not (is_transient(error) or is_not_ready(error)):
                raise FlowDefinitionError(spec.name, error_message(error)) from error
            delay = backoff(attempt, clock)
            window = iam_budget if is_not_ready(error) else budget
            if not window.allows(delay):
                found = _existing(spec, flows) if is_transient(error) else None
                if found is not None:
                    return found
                waited = clock.monotonic() - started
                raise FlowDefinitionError(spec.name, f"{error_message(error)} (still failing after {waited:.0f}s)") from error
            logger.warning("could not create %s yet (%s); retrying in %.1fs", spec.name, error_message(error), delay)
        clock.sleep(delay)
        attempt += 1


def _existing(spec: FlowSpec, flows: FlowDefinitions) -> str | None:
    """The ARN of the flow definition of our name, unless there is none or it is being deleted."""
    try:
        described = flows.describe(spec.name)
    except CALL_ERRORS:
        return None
    if described is None or described.get("FlowDefinitionStatus") == DELETING:
        return None
    logger.info("adopting existing %s", spec.name)
    return str(described["FlowDefinitionArn"])


def _name_of(physical_id: str) -> str | None:
    match = FLOW_DEFINITION_ARN.fullmatch(physical_id)
    return match.group(1) if match else None


def _spec(event: ResourceEvent, properties: Properties | None) -> FlowSpec:
    return flow_spec(properties, stack_id=event.stack_id, logical_id=event.logical_id)


def _answer(spec: FlowSpec, arn: str) -> Response:
    return {"PhysicalResourceId": arn, "Data": {ATTR_FLOW_DEFINITION_ARN: arn, ATTR_FLOW_DEFINITION_NAME: spec.name}}
