"""request.py: from CloudFormation's all-strings properties to a typed CreateEvaluationJob call,
a job name and an idempotency token."""

from __future__ import annotations

import re
from typing import Any

import pytest
from handler_support import (
    LOGICAL_ID,
    OUTPUT_S3_URI,
    STACK_ID,
    model_request,
    new_client,
    rag_request,
    valid_properties,
)
from request import JobSpec, job_spec, restore_types
from runtime import InvalidProperties, idempotency_token

from bedrock_evaluation.contract import (
    CLIENT_REQUEST_TOKEN,
    CLIENT_REQUEST_TOKEN_RULE,
    JOB_NAME_MAX_LENGTH,
    NAME_PREFIX_MAX_LENGTH,
    NAME_PREFIX_PATTERN,
    Removal,
    name_prefix_problem,
)

JOB_NAME_PATTERN = re.compile(r"[a-z0-9](-*[a-z0-9]){0,62}")
TOKEN_PATTERN = re.compile(r"[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?")


@pytest.fixture(scope="module")
def client() -> Any:
    return new_client()


@pytest.fixture(scope="module")
def input_shape(client: Any) -> Any:
    """CreateEvaluationJob's input shape in the client's model, passed explicitly."""
    return client.meta.service_model.operation_model("CreateEvaluationJob").input_shape


@pytest.fixture
def spec_of(input_shape: Any):
    def spec_of(properties: dict[str, Any], *, stack_id: str = STACK_ID, logical_id: str = LOGICAL_ID) -> JobSpec:
        return job_spec(properties, input_shape=input_shape, stack_id=stack_id, logical_id=logical_id)

    return spec_of


def retrieve_request() -> dict[str, Any]:
    """A retrieve-only knowledge-base evaluation (the other branch of knowledgeBaseConfig)."""
    request = rag_request()
    request["inferenceConfig"]["ragConfigs"][0]["knowledgeBaseConfig"] = {
        "retrieveConfig": {
            "knowledgeBaseId": "KBID123456",
            "knowledgeBaseRetrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": "5"}},
        }
    }
    return request


def _kb(request: dict[str, Any]) -> dict[str, Any]:
    return request["inferenceConfig"]["ragConfigs"][0]["knowledgeBaseConfig"]


def _number_of_results(request: dict[str, Any]) -> Any:
    return _kb(request)["retrieveConfig"]["knowledgeBaseRetrievalConfiguration"]["vectorSearchConfiguration"][
        "numberOfResults"
    ]


def _temperature(request: dict[str, Any]) -> Any:
    generation = _kb(request)["retrieveAndGenerateConfig"]["knowledgeBaseConfiguration"]["generationConfiguration"]
    return generation["kbInferenceConfig"]["textInferenceConfig"]["temperature"]


def _rating_value(request: dict[str, Any]) -> Any:
    custom = request["evaluationConfig"]["automated"]["customMetricConfig"]["customMetrics"][0]
    return custom["customMetricDefinition"]["ratingScale"][0]["value"]["floatValue"]


def _filter_value(request: dict[str, Any]) -> Any:
    retrieval = _kb(request)["retrieveAndGenerateConfig"]["knowledgeBaseConfiguration"]["retrievalConfiguration"]
    return retrieval["vectorSearchConfiguration"]["filter"]["equals"]["value"]


# --- restoring the types CloudFormation erased ---------------------------------------------------


@pytest.mark.parametrize(
    ("make_request", "read", "expected", "kind"),
    [
        pytest.param(retrieve_request, _number_of_results, 5, int, id="integer numberOfResults"),
        pytest.param(rag_request, _temperature, 0.2, float, id="float temperature"),
        pytest.param(rag_request, _rating_value, 1.0, float, id="float rating-scale floatValue"),
        pytest.param(rag_request, _filter_value, 2024, int, id="document filter value from its JSON"),
    ],
)
def test_strings_become_the_types_the_service_model_declares(spec_of, make_request, read, expected, kind) -> None:
    # given a request whose scalars CloudFormation turned into strings
    properties = valid_properties(request=make_request())
    assert isinstance(read(properties["Request"]), str)

    # when the handler reads the properties
    restored = read(spec_of(properties).request)

    # then the field is back to the model's type
    assert restored == expected
    assert type(restored) is kind


def test_strings_stay_strings_where_the_model_wants_strings(spec_of) -> None:
    spec = spec_of(valid_properties())

    bedrock_model = spec.request["inferenceConfig"]["models"][0]["bedrockModel"]
    assert bedrock_model["inferenceParams"] == '{"inferenceConfig":{"maxTokens":512}}'
    assert spec.request["evaluationConfig"] == model_request()["evaluationConfig"]


def test_a_document_can_hold_any_json_value(spec_of) -> None:
    request = rag_request()
    retrieval = _kb(request)["retrieveAndGenerateConfig"]["knowledgeBaseConfiguration"]["retrievalConfiguration"]
    retrieval["vectorSearchConfiguration"]["filter"]["equals"]["value"] = '["drama", 3, true]'

    assert _filter_value(spec_of(valid_properties(request=request)).request) == ["drama", 3, True]


@pytest.mark.parametrize(("given", "expected"), [("true", True), ("FALSE", False), (True, True)])
def test_booleans_are_restored_from_their_strings(client, given, expected) -> None:
    # CreateEvaluationJob has no boolean field today; another Bedrock input with one shows the rule.
    shape = client.meta.service_model.operation_model("CreateMarketplaceModelEndpoint").input_shape

    assert restore_types({"acceptEula": given}, shape, "Request") == {"acceptEula": expected}


def test_fails_for_a_boolean_that_is_neither_true_nor_false(client) -> None:
    shape = client.meta.service_model.operation_model("CreateMarketplaceModelEndpoint").input_shape

    with pytest.raises(InvalidProperties, match=r"Request\.acceptEula is 'yes', not true or false"):
        restore_types({"acceptEula": "yes"}, shape, "Request")


def test_fails_for_a_number_that_does_not_parse_naming_its_path(spec_of) -> None:
    request = retrieve_request()
    _kb(request)["retrieveConfig"]["knowledgeBaseRetrievalConfiguration"]["vectorSearchConfiguration"][
        "numberOfResults"
    ] = "five"

    with pytest.raises(InvalidProperties) as raised:
        spec_of(valid_properties(request=request))

    assert str(raised.value) == (
        "Request.inferenceConfig.ragConfigs[0].knowledgeBaseConfig.retrieveConfig."
        "knowledgeBaseRetrievalConfiguration.vectorSearchConfiguration.numberOfResults is 'five', not an integer"
    )


def test_fails_for_a_float_that_does_not_parse_naming_its_path(spec_of) -> None:
    request = rag_request()
    text = _kb(request)["retrieveAndGenerateConfig"]["knowledgeBaseConfiguration"]["generationConfiguration"]
    text["kbInferenceConfig"]["textInferenceConfig"]["temperature"] = "warm"

    with pytest.raises(InvalidProperties, match=r"textInferenceConfig\.temperature is 'warm', not a number"):
        spec_of(valid_properties(request=request))


def test_fails_for_a_document_that_is_not_json_naming_its_path(spec_of) -> None:
    request = rag_request()
    retrieval = _kb(request)["retrieveAndGenerateConfig"]["knowledgeBaseConfiguration"]["retrievalConfiguration"]
    retrieval["vectorSearchConfiguration"]["filter"]["equals"]["value"] = "drama"

    with pytest.raises(InvalidProperties, match=r"filter\.equals\.value must hold a JSON document"):
        spec_of(valid_properties(request=request))


def test_fails_for_a_list_field_given_an_object(spec_of) -> None:
    request = model_request()
    request["inferenceConfig"]["models"] = {"bedrockModel": {"modelIdentifier": "amazon.nova-lite-v1:0"}}

    with pytest.raises(InvalidProperties, match=r"Request\.inferenceConfig\.models must be a list, got dict"):
        spec_of(valid_properties(request=request))


# --- the generated job name -----------------------------------------------------------------------


def test_the_generated_name_is_the_prefix_and_a_digest_and_is_deterministic(spec_of) -> None:
    first, second = spec_of(valid_properties()), spec_of(valid_properties())

    assert first.name == second.name
    assert re.fullmatch(r"eval-boolq-[0-9a-f]{10}", first.name)
    assert first.name_is_generated
    assert first.request["jobName"] == first.name


def test_the_longest_prefix_still_gives_a_valid_job_name(spec_of) -> None:
    prefix = "a-" * (NAME_PREFIX_MAX_LENGTH // 2 - 1) + "ab"
    assert len(prefix) == NAME_PREFIX_MAX_LENGTH

    name = spec_of(valid_properties(JobNamePrefix=prefix)).name

    assert len(name) == JOB_NAME_MAX_LENGTH == 63
    assert JOB_NAME_PATTERN.fullmatch(name)


def _changed_request() -> dict[str, Any]:
    request = model_request()
    request["evaluationConfig"]["automated"]["datasetMetricConfigs"][0]["metricNames"].append("Builtin.Robustness")
    return request


@pytest.mark.parametrize(
    ("properties", "where"),
    [
        pytest.param(valid_properties(request=_changed_request()), {}, id="request changed"),
        pytest.param(valid_properties(), {"stack_id": STACK_ID.replace("Eval", "Other")}, id="other stack"),
        pytest.param(valid_properties(), {"logical_id": "OtherJob"}, id="other logical id"),
    ],
)
def test_the_generated_name_changes_with_the_request_and_with_its_owner(spec_of, properties, where) -> None:
    assert spec_of(properties, **where).name != spec_of(valid_properties()).name


@pytest.mark.parametrize(
    "properties",
    [
        pytest.param(valid_properties(Removal="retain"), id="removal changed"),
        pytest.param(valid_properties(request=dict(reversed(list(model_request().items())))), id="keys reordered"),
    ],
)
def test_the_generated_name_ignores_what_does_not_change_the_job(spec_of, properties) -> None:
    assert spec_of(properties).name == spec_of(valid_properties()).name


def test_a_number_sent_as_a_string_or_a_number_gives_the_same_name(spec_of) -> None:
    typed = retrieve_request()
    _kb(typed)["retrieveConfig"]["knowledgeBaseRetrievalConfiguration"]["vectorSearchConfiguration"][
        "numberOfResults"
    ] = 5

    assert spec_of(valid_properties(request=typed)).name == spec_of(valid_properties(request=retrieve_request())).name


def test_a_job_name_fixed_in_the_request_is_kept_and_the_prefix_ignored(spec_of) -> None:
    request = model_request() | {"jobName": "my-boolq-run"}

    spec = spec_of(valid_properties(request=request, JobNamePrefix="Not A Valid Prefix"))

    assert spec.name == "my-boolq-run"
    assert not spec.name_is_generated


@pytest.mark.parametrize(
    "prefix",
    ["Eval-BoolQ", "-eval", "eval-", "eval_boolq", "", "a" * (NAME_PREFIX_MAX_LENGTH + 1), None],
    ids=["uppercase", "leading hyphen", "trailing hyphen", "underscore", "empty", "too long", "missing"],
)
def test_fails_for_an_invalid_name_prefix_giving_the_contracts_rule(spec_of, prefix) -> None:
    with pytest.raises(InvalidProperties) as raised:
        spec_of(valid_properties(JobNamePrefix=prefix))

    assert str(raised.value) == f"property JobNamePrefix is {prefix!r}; it {name_prefix_problem(prefix)}"
    assert NAME_PREFIX_PATTERN.pattern in str(raised.value)


# --- the idempotency token ------------------------------------------------------------------------


def test_the_client_request_token_is_deterministic_and_valid_for_the_api() -> None:
    token = idempotency_token(stack_id=STACK_ID, logical_id=LOGICAL_ID, request_id="req-1")

    assert token == idempotency_token(stack_id=STACK_ID, logical_id=LOGICAL_ID, request_id="req-1")
    assert TOKEN_PATTERN.fullmatch(token)
    assert len(token) <= 256


def test_each_cloudformation_request_gets_its_own_token() -> None:
    tokens = {
        idempotency_token(stack_id=STACK_ID, logical_id=LOGICAL_ID, request_id=rid)
        for rid in ("req-1", "req-2", "9d1c2b5e-0a1f-4c8e-9f3d-2b7e6a5c4d3e")
    }
    assert len(tokens) == 3


def test_fails_for_a_client_request_token_in_the_request_giving_the_contracts_rule(spec_of) -> None:
    request = model_request() | {CLIENT_REQUEST_TOKEN: "mine"}

    with pytest.raises(InvalidProperties) as raised:
        spec_of(valid_properties(request=request))

    assert str(raised.value) == f"Request.clientRequestToken {CLIENT_REQUEST_TOKEN_RULE}"


def test_the_request_is_typed_by_the_bedrock_model_unless_a_shape_is_given(input_shape) -> None:
    # given a request whose numbers arrive as strings
    properties = valid_properties(request=retrieve_request())

    # when it is read with the default shape and with the client's model passed explicitly
    by_default = job_spec(properties, stack_id=STACK_ID, logical_id=LOGICAL_ID)
    given = job_spec(properties, stack_id=STACK_ID, logical_id=LOGICAL_ID, input_shape=input_shape)

    # then both give the same typed request
    assert by_default == given
    assert _number_of_results(by_default.request) == 5


# --- the other properties -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [("stop", Removal.STOP), ("delete", Removal.DELETE), ("retain", Removal.RETAIN), (None, Removal.STOP)],
)
def test_removal_is_read_and_defaults_to_stop(spec_of, given, expected) -> None:
    assert spec_of(valid_properties(Removal=given)).removal is expected


def test_fails_for_an_unknown_removal_as_the_contract_does(spec_of) -> None:
    with pytest.raises(InvalidProperties, match="^Removal is 'destroy'; expected one of 'stop', 'delete', 'retain'$"):
        spec_of(valid_properties(Removal="destroy"))


@pytest.mark.parametrize(("request_value", "kind"), [(None, "nothing"), ('{"roleArn": "x"}', "str")])
def test_fails_for_a_missing_or_non_object_request(spec_of, request_value, kind) -> None:
    properties = valid_properties()
    if request_value is None:
        del properties["Request"]
    else:
        properties["Request"] = request_value

    with pytest.raises(InvalidProperties, match=f"property Request must be an object, got {kind}"):
        spec_of(properties)


def test_fails_for_a_request_without_an_output_location(spec_of) -> None:
    request = model_request()
    del request["outputDataConfig"]

    with pytest.raises(InvalidProperties, match=r"Request\.outputDataConfig\.s3Uri is required"):
        spec_of(valid_properties(request=request))


@pytest.mark.parametrize("s3_uri", [OUTPUT_S3_URI, OUTPUT_S3_URI.rstrip("/")])
def test_the_output_uri_is_the_configured_location_plus_the_job_name(spec_of, s3_uri) -> None:
    request = model_request()
    request["outputDataConfig"]["s3Uri"] = s3_uri

    spec = spec_of(valid_properties(request=request))

    assert spec.output_s3_uri == f"s3://results-bucket/results/job/{spec.name}/"
