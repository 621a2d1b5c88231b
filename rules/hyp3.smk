# HyP3 path (being built: issue 4)
