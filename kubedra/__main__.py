"""`python -m kubedra` runs the CLI."""

import sys

from kubedra.cli.main import main

sys.exit(main())
