"""The error every synth-time check raises."""


class EvaluationJobConfigError(ValueError):
    """An evaluation job is configured in a way the service would reject.

    The message names the construct, the field, the value received and the rule broken.
    """
