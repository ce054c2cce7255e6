"""``python -m ui`` starts the tray app."""

import sys

from ui.app import main

sys.exit(main(sys.argv[1:]))
