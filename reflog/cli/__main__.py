import sys

from reflog.cli import main

sys.exit(main())
