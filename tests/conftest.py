"""Settings shared by the whole suite.

Hypothesis' per-example deadline (200 ms by default) is a timing assertion: on a loaded
CI machine it fails tests whose logic is fine. Speed is measured in benchmarks/, so the
suite runs every property test without a deadline.
"""

from hypothesis import settings

settings.register_profile("callbot", deadline=None)
settings.load_profile("callbot")
