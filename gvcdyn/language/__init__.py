"""The modelling language: a Vensim ``.mdl`` read by PySD's translator, lowered to
gvcdyn's IR and scheduled.

Nothing here compiles or runs a model; ``gvcdyn.backend`` turns the schedule into a kernel.
"""
