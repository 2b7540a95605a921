"""``python -m examples.team_chat --data DIR COMMAND ...`` from the repository root."""

import sys

from examples.team_chat.app import main

sys.exit(main())
