"""The inputs of a sensitivity design, and how a design row becomes a model run.

SALib samples and analyses *inputs*; the evaluator runs *parameters* of a
``ParameterSpace``. Usually the two are the same list (each lever is one input, uniform on
its range), and then the problem dict is ``space.to_salib()`` and a design row is a run's
parameters as they are. A ranges file can separate them:

- a lever with a distribution stays one input, with SALib's ``dists`` entry (SALib's
  sampler transforms the uniform design; the row holds the lever's value);
- groups of levers (SALib's ``groups``): indices come per group, ``D`` is the number of
  groups, and the Saltelli blocks switch a whole group at once;
- an evidence source (``gvcdyn.sensitivity.sources``) is one input, a selector uniform on
  ``[0, 1]``, which :meth:`Design.runs` turns into one row of the source's levers.

``Design.runs(X)`` gives the ``(n, k)`` parameters of the space for the design rows ``X``;
the analysis reads the outputs against ``X`` and ``Design.labels`` (the groups, in SALib's
order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gvcdyn.sensitivity.distributions import Distribution, uniform
from gvcdyn.sensitivity.sources import EvidenceSource, pick_rows

__all__ = ["Design", "Input"]


@dataclass(frozen=True)
class Input:
    """One column of the design: a lever (with its distribution) or a source's selector."""

    name: str
    group: str
    dist: Distribution | None = None
    source: EvidenceSource | None = None

    @property
    def kind(self) -> str:
        return "lever" if self.source is None else self.source.kind


@dataclass(frozen=True)
class Design:
    """The inputs of a study in SALib's order, and the space they fill."""

    inputs: tuple[Input, ...]
    space_names: tuple[str, ...]
    plain: bool  # every input a uniform lever, ungrouped: the design IS the space's
    base: np.ndarray = field(repr=False)  # the space's values of its own parameters

    @property
    def labels(self) -> tuple[str, ...]:
        """What the indices are of: group names in order of first appearance."""
        return tuple(dict.fromkeys(i.group for i in self.inputs))

    @property
    def D(self) -> int:
        return len(self.labels)

    @property
    def grouped(self) -> bool:
        return len(self.labels) < len(self.inputs)

    def members(self, label: str) -> tuple[str, ...]:
        """The levers an index label stands for (a source's levers for its selector)."""
        out: list[str] = []
        for i in self.inputs:
            if i.group == label:
                out.extend(i.source.levers if i.source else (i.name,))
        return tuple(out)

    def problem(self, space: Any) -> dict[str, Any]:
        """SALib's problem dict: ``names``, ``bounds``, and ``dists``/``groups`` when used."""
        if self.plain:
            return space.to_salib()
        bounds, dists = [], []
        for i in self.inputs:
            name, b = (i.dist or uniform(0.0, 1.0)).salib
            dists.append(name)
            bounds.append([float(v) for v in b])
        problem: dict[str, Any] = {
            "num_vars": len(self.inputs),
            "names": [i.name for i in self.inputs],
            "bounds": bounds,
        }
        if any(d != "unif" for d in dists):
            problem["dists"] = dists
        if self.grouped:
            problem["groups"] = [i.group for i in self.inputs]
        return problem

    def runs(self, X: np.ndarray) -> np.ndarray:
        """The space's ``(n, k)`` parameters for design rows ``X`` (``(n, inputs)``)."""
        X = np.asarray(X, dtype=np.float64)
        if self.plain:
            return X
        column = {name: j for j, name in enumerate(self.space_names)}
        out = np.empty((X.shape[0], len(self.space_names)))
        out[:] = self.base
        for j, item in enumerate(self.inputs):
            if item.source is None:
                out[:, column[item.name]] = X[:, j]
                continue
            rows = item.source.rows[pick_rows(X[:, j], len(item.source.rows))]
            for c, lever in enumerate(item.source.levers):
                values = rows[:, c]
                k = column[lever]
                out[:, k] = np.where(np.isnan(values), self.base[k], values)
        return out

    def describe(self, label: str) -> str:
        """What an index label is: a lever's distribution, a group, a source."""
        items = [i for i in self.inputs if i.group == label]
        if len(items) == 1 and items[0].group == items[0].name:
            item = items[0]
            if item.source is not None:
                return f"{item.source.kind}: {item.source.note}"
            return str(item.dist)
        return "group of " + ", ".join(f"{i.name} ~ {i.dist}" for i in items)


def build_design(
    names: tuple[str, ...],
    bounds: np.ndarray,
    dists: dict[str, Distribution],
    groups: dict[str, tuple[str, ...]],
    sources: tuple[EvidenceSource, ...],
    space_names: tuple[str, ...],
    base: np.ndarray,
) -> Design:
    """Inputs in SALib's order: grouped levers by group (groups in file order), each
    ungrouped lever in its place, then the sources."""
    group_of = {m: g for g, ms in groups.items() for m in ms}
    lever_inputs = []
    for name, (low, high) in zip(names, bounds, strict=True):
        dist = dists.get(name) or uniform(low, high)
        lever_inputs.append(Input(name, group_of.get(name, name), dist))
    order = {g: k for k, g in enumerate(dict.fromkeys(i.group for i in lever_inputs))}
    lever_inputs.sort(key=lambda i: order[i.group])  # stable: members keep their order
    inputs = [*lever_inputs, *(Input(s.name, s.name, None, s) for s in sources)]
    plain = not groups and not sources and all(d.kind == "uniform" for d in dists.values())
    return Design(tuple(inputs), space_names, plain, np.asarray(base, dtype=np.float64))
