import sys

from tests.integration.triage.crashguest import main

sys.exit(main(sys.argv[1:]))
