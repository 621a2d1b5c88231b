"""The time-series stage: HyP3 products -> common-overlap clip -> MintPy smallbaselineApp -> maps.

``clip`` cuts every current product to the common overlap, ``template`` writes MintPy's template
from the config, ``mintpy`` runs smallbaselineApp step by step and checks each step, ``export``
writes the GeoTIFFs and pictures. Output paths are in ``paths``.
"""
