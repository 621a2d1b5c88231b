#!/usr/bin/env python3
"""Test stand-in for ISCE2 topsStack's invertMisreg.py; the logic is in ../topsstack_standin.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import topsstack_standin

sys.exit(topsstack_standin.main(Path(__file__).name, sys.argv[1:]))
