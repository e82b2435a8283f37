"""`python -m bedrock_evaluation`: the results command, `bedrock-evaluation-results` (see results_command.py)."""

import sys

from .results_command import main

sys.exit(main())
