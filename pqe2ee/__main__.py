"""``python -m pqe2ee`` runs the CLI."""

import sys

from pqe2ee.cli import main

sys.exit(main())
