"""Generated models for tests and benchmarks (synthetic ``.mdl`` files of a given size).

Shipped with the package, as ``numpy.testing`` is, so a user can benchmark their install.
"""
