"""The job name and the client request token are how the handler finds its job again (a rollback,
a lost answer) and how the service recognises a repeated Create: pinned for fixed events, so that
a change to how either is derived is seen in review. A version that must derive names differently
adds its digest in front of request.NAME_DIGESTS and keeps the earlier ones."""

from __future__ import annotations

import request as handler_request
from handler_support import GENERATED_NAME, LOGICAL_ID, STACK_ID, rag_request, valid_properties
from runtime import idempotency_token


def test_the_generated_name_of_fixed_properties_is_pinned() -> None:
    assert handler_request.job_spec(valid_properties(), stack_id=STACK_ID, logical_id=LOGICAL_ID).name == GENERATED_NAME
    rag = handler_request.job_spec(valid_properties(request=rag_request()), stack_id=STACK_ID, logical_id=LOGICAL_ID)
    assert rag.name == "eval-boolq-0e6e258aad"


def test_the_client_request_token_of_a_fixed_request_is_pinned() -> None:
    token = idempotency_token(stack_id=STACK_ID, logical_id=LOGICAL_ID, request_id="req-1")
    assert token == "266cc0665651235f459b0e0bac978b5e71a4ce10443f4046ec0c6f6a5b9c1e3d"


def test_names_of_earlier_digests_are_recognised_as_this_resources() -> None:
    def older(stack_id: str, logical_id: str, request: object) -> str:
        return "0123456789"

    digests = handler_request.NAME_DIGESTS
    try:
        handler_request.NAME_DIGESTS = (*digests, older)
        spec = handler_request.job_spec(valid_properties(), stack_id=STACK_ID, logical_id=LOGICAL_ID)
    finally:
        handler_request.NAME_DIGESTS = digests

    assert spec.names == (GENERATED_NAME, "eval-boolq-0123456789")
