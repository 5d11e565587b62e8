"""``python -m mailcatcher_gui`` is the same as the ``mailcatcher-gui`` command."""

import sys

from mailcatcher_gui.cli import main

if __name__ == "__main__":
    sys.exit(main())
