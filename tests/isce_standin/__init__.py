"""Test-only stand-in for ISCE2 topsStack (`bin/`, `topsstack_standin.py`) and its fixtures."""
