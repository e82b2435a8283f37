"""The Python answer to "is this a token?" is aws-cdk-lib's own answer, for every kind of value."""

from __future__ import annotations

import math

import aws_cdk as cdk
import jsii
from aws_cdk import aws_s3 as s3

from bedrock_evaluation.tokens import is_unresolved


def test_the_answer_is_token_is_unresolveds_for_every_kind_of_value():
    stack = cdk.Stack(cdk.App(), "Tokens")
    bucket = s3.Bucket(stack, "Bucket")
    samples: list[object] = [
        None, True, False, 0, 1, -1, 3.5, -0.0, 2**70,
        "", "plain", "Token[", "${Token[", "${Token[TOKEN.1]}", "#{Token[TOKEN.2]}",
        bucket.bucket_name, f"s3://{bucket.bucket_name}/key", bucket.bucket_arn,
        stack.account, stack.region, f"{stack.region}-{stack.account}",
        cdk.Token.as_string(cdk.Fn.ref("X")), cdk.Token.as_number(cdk.Fn.ref("X")), cdk.Token.as_list(cdk.Fn.ref("X")),
        cdk.Fn.split(",", "a,b"), cdk.Fn.get_azs(), [bucket.bucket_name], [bucket.bucket_name, "x"], [],
        {}, {"k": bucket.bucket_name}, cdk.Lazy.string(_Produce()), cdk.Fn.ref("X"),
        stack.resolve(bucket.bucket_name),
    ]
    for value in samples:
        assert is_unresolved(value) == cdk.Token.is_unresolved(value), repr(value)


@jsii.implements(cdk.IStableStringProducer)
class _Produce:
    def produce(self) -> str:
        return "late"


def test_values_jsii_cannot_carry_are_no_tokens_and_crash_nothing():
    # Infinity, NaN and integers beyond a double cannot cross to Node at all: asking Token.is_unresolved
    # would fail; they are plain values, never tokens.
    for value in (math.inf, -math.inf, math.nan, 10**400):
        assert is_unresolved(value) is False
