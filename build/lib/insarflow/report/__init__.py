"""Figures and tables for ``snakemake --report``: what a scientist looks at first.

Each module makes one kind of report item from the workflow's own outputs, with matplotlib's
Agg backend (PNG files, no web assets):

* :mod:`~insarflow.report.network`: pairs as date against perpendicular baseline, and the
  temporal-baseline histogram (HyP3 products' ``.txt``, or an ISCE stack's dates and pairs);
* :mod:`~insarflow.report.hyp3_jobs`: the timeline of every HyP3 job (ledger, status board,
  finished records) and the credits / product-expiry tables (``status.tsv``);
* :mod:`~insarflow.report.quicklooks`: pages of labelled phase and coherence thumbnails;
* :mod:`~insarflow.report.displacement`: MintPy velocity, its standard deviation, point time
  series and the coherence matrix;
* :mod:`~insarflow.report.isce_timing`: Gantt chart of an ISCE stack's run-file commands and the
  wall time per step, from the command logs.

:mod:`~insarflow.report.run` holds the one function per rule that the ``scripts/report_*.py``
files call.
"""
