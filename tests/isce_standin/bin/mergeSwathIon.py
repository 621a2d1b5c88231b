#!/usr/bin/env python3
"""Test stand-in for ISCE2 topsStack's mergeSwathIon.py; the logic is in ../topsstack_standin.py."""

import os
import sys

# cache the compiled module even under PYTHONDONTWRITEBYTECODE: the stand-in runs as
# thousands of short processes in tests and benchmarks
sys.dont_write_bytecode = False
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
import topsstack_standin  # noqa: E402 (sys.path and bytecode setup come first)

sys.exit(topsstack_standin.main(os.path.basename(__file__), sys.argv[1:]))
