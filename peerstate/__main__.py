"""``python -m peerstate``: the ``peerstate`` command, for where its script is not on the
PATH (a virtualenv not activated, a checkout run in place) or the interpreter must be named."""

import sys

from peerstate.cli import main

if __name__ == "__main__":  # imported (by a documentation tool, say), it runs nothing
    sys.exit(main())
