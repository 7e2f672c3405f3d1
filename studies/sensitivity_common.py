"""What the GVC sensitivity scripts share: a Sobol' study's ranking at one reading time.

``studies/sensitivity_report.py`` (levers over their documented ranges) and
``studies/sensitivity_evidence.py`` (ranges on the evidence, issue 19) rank the same kind
of study the same way; one helper keeps their tables from drifting apart. Imported as a
sibling script (``python studies/<script>.py`` puts this folder on the path).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from gvcdyn.reports import sensitivity as generic


def ranking(ds: xr.Dataset, output: str, t: float) -> list[tuple[str, float, float, float]]:
    """``(input, ST, ST_conf, S1)`` of ``output`` at time ``t``, ranked by ST as
    ``gvcdyn report`` ranks them."""
    one = ds.sel(output=output, time=t)
    index = int(np.flatnonzero(ds.time.values == t)[0])
    return [
        (
            str(one.parameter.values[i]),
            float(one.ST.values[i]),
            float(one.ST_conf.values[i]),
            float(one.S1.values[i]),
        )
        for i in generic.ranking(ds, output, index)
    ]
