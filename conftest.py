"""What every test of the repository shares.

Property tests run without hypothesis' per-example deadline (200 ms): on a loaded shared machine an
example can take longer, which fails the test while saying nothing about the property. Pytest's own
timeout (pyproject.toml) still bounds a test that hangs.
"""

from hypothesis import settings

settings.register_profile("ledgerline", deadline=None)
settings.load_profile("ledgerline")
