"""The demo operator that `make run` loads through the API (loader.py; its data in fixtures.py)."""
