"""ISCE2 topsStack (stackSentinel.py) as Snakemake jobs.

* :mod:`~insarflow.isce.stack`: the ``isce:`` settings and pairs as a stackSentinel.py call, the
  settings fingerprint, and run-file generation (the checkpoint job);
* :mod:`~insarflow.isce.runfiles`: run files parsed into commands;
* :mod:`~insarflow.isce.plan`: the parsed plan and the stack's file layout;
* :mod:`~insarflow.isce.commands`: one command as one job (log, exit code, rerun hazards);
* :mod:`~insarflow.isce.dem`, :mod:`~insarflow.isce.orbits`: DEM, orbits and AUX_CAL;
* :mod:`~insarflow.isce.workflow`: what the Snakemake input functions return.

Importing this package imports nothing else: the per-command runner starts thousands of times.
"""
