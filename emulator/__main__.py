"""``python -m emulator`` is ``amlemu``."""

import sys

from emulator.cli import main

sys.exit(main())
