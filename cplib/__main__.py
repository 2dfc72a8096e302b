"""Entry point for ``python -m cplib``."""

import sys

from .cli import main

sys.exit(main())
