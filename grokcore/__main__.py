import sys

from grokcore.cli import main

sys.exit(main())
