#!/usr/bin/env python3
"""healthgap command line: a thin shim over simulation.cli.main (see README.md)."""

import sys

from simulation.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
