"""`python deploy/demo --url ... --token ...`: load the demo operator (see loader.py)."""

import sys
from pathlib import Path

# Run as a folder, Python puts deploy/demo first on the path: the package is `demo`, under deploy/.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from demo.loader import main  # noqa: E402

sys.exit(main())
