"""``python -m reliability``: run the reliability suite and print its JSON summary."""

import sys

from reliability.run import main

sys.exit(main())
