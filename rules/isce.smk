# ISCE2 topsStack: DEM, orbits, stackSentinel run files and every run_NN step.
# (being built: issue 5)
