"""`python -m harness.debug.agent --engine NAME` (or the bundled zipapp) runs the agent."""

import sys

from harness.debug.agent.main import main

sys.exit(main())
