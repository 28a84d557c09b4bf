"""``python -m reflog`` is the ``reflog`` command."""

import sys

from reflog.cli import main

sys.exit(main())
