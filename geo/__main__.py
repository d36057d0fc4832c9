"""``python -m geo <command> …``: the command line of Qingshan's core (see :mod:`geo.cli`)."""
import sys

from geo.cli import main

if __name__ == "__main__":
    sys.exit(main())
