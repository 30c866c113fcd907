import sys

from dropout_theory.experiments.cli import main

sys.exit(main())
