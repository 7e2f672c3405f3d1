"""The modelling language: a Vensim ``.mdl`` read by PySD's translator, lowered to
gvcdyn's IR and scheduled.

Nothing here compiles or runs a model; ``gvcdyn.backend`` turns the schedule into a kernel.
"""

from gvcdyn.language.pysd_package import defer_pysd_init

# Before any ``pysd.translators`` import below this package: the translator without PySD's
# runtime (xarray, pandas, openpyxl), which a translation never calls (pysd_package).
defer_pysd_init()
