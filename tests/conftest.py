"""Settings for every test: the hypothesis profile of the property-based tests.

derandomize gives every run the same examples (a seed from each test function), so a CI failure reproduces;
deadline=None because nothing here may depend on timing; max_examples is bounded so the suite stays fast.
HYPOTHESIS_PROFILE=thorough runs more examples, still reproducibly.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=20, database=None, print_blob=False)
settings.register_profile("thorough", parent=settings.get_profile("ci"), max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
