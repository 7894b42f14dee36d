"""What every service shows its operators: health, the dashboard, dead letters, metrics (issue 12).

`runtime.py` owns the process (start, stop, Kafka); these modules own what it serves about itself.
"""
