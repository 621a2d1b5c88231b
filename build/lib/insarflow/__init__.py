"""insarflow: Sentinel-1 InSAR pairs to products, as a Snakemake workflow (HyP3 or ISCE2 topsStack)."""

__version__ = "0.1.0"
