"""The HyP3 path: submit each pair's job once, wait, download, verify, report."""
