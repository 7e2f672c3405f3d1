"""``build_batch`` lays out a what-if's runs as columns: the same runs, in the same order,
with the same labels, as one dict per run (scenarios x the product of the sweeps; the
model's defaults, then the scenario, then ``--set``, then ``--sweep``) built them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import BENCH_MODEL

import gvcdyn
from gvcdyn.whatif.scenarios import Scenario, build_batch


@pytest.fixture(scope="module")
def model() -> gvcdyn.Model:
    return gvcdyn.load(BENCH_MODEL)


def _per_run(
    model: gvcdyn.Model,
    levers: tuple[str, ...],
    scenarios: list[Scenario],
    sets: dict,
    sweeps: dict,
) -> dict[str, list[float]]:
    """The layout one dict per run gives: the reference."""
    rows = []
    axes = {name: np.linspace(a, b, n) for name, (a, b, n) in sweeps.items()}
    for scenario in scenarios or [Scenario("default")]:
        for combo in itertools.product(*axes.values()):
            row = {name: model.parameter(name).default for name in levers}
            row.update(scenario.parameters)
            row.update(sets)
            row.update(dict(zip(axes, combo, strict=True)))
            rows.append(row)
    return {name: [r[name] for r in rows] for name in levers}


CASES = [
    ([], {}, {}),
    ([], {"price elasticity": 0.7}, {}),
    ([], {}, {"reference demand": (80, 120, 5)}),
    (
        [
            Scenario("low", {"price elasticity": 0.6, "policy strength": 0.1}, "a", "low.toml"),
            Scenario("high", {"price elasticity": 0.9}, "b", "high.toml"),
        ],
        {"policy strength": 0.2},
        {"reference demand": (80, 120, 3), "capacity growth rate": (0.04, 0.08, 4)},
    ),
]


@pytest.mark.parametrize(("scenarios", "sets", "sweeps"), CASES)
def test_columns_equal_one_dict_per_run(
    model: gvcdyn.Model, scenarios: list[Scenario], sets: dict, sweeps: dict
) -> None:
    set_texts = [f"{k}={v!r}" for k, v in sets.items()]
    sweep_texts = [f"{k}={a!r}:{b!r}:{n}" for k, (a, b, n) in sweeps.items()]
    batch = build_batch(model, scenarios, set_texts, sweep_texts)
    expected = _per_run(model, batch.levers, scenarios, sets, sweeps)
    assert list(batch.params) == list(expected)
    for name, column in batch.params.items():
        assert column.dtype == np.float64
        np.testing.assert_array_equal(column, expected[name], err_msg=name)
    assert batch.n_runs == max(1, len(scenarios)) * int(np.prod([n for *_, n in sweeps.values()]))


def test_labels_name_what_each_run_changed(model: gvcdyn.Model) -> None:
    batch = build_batch(
        model,
        [],
        ["policy strength=0.2"],
        ["reference demand=80:120:3", "price elasticity=0.5:1:2"],
    )
    assert batch.labels[:3] == (
        "policy strength=0.2, reference demand=80, price elasticity=0.5",
        "policy strength=0.2, reference demand=80, price elasticity=1",
        "policy strength=0.2, reference demand=100, price elasticity=0.5",
    )
    assert batch.n_runs == 6 and set(batch.bases) == {"default"}
    two = build_batch(model, [Scenario("a", {}, "first"), Scenario("b", {}, "second")], [], [])
    assert two.labels == ("a", "b") and two.descriptions == ("first", "second")


def test_streamed_labels_are_the_batch_strings(model: gvcdyn.Model) -> None:
    """The streamed writer gets the labels as an object array of the batch's own strings
    (8 bytes a run), the in-memory dataset as text: the same labels."""
    from gvcdyn.whatif.labels import run_coords

    batch = build_batch(model, [], [], ["reference demand=80:120:7"])
    text, objects = run_coords(batch, model), run_coords(batch, model, as_objects=True)
    for name in ("scenario", "base_scenario", "scenario_description"):
        assert objects[name][1].dtype == object and text[name][1].dtype.kind == "U"
        assert objects[name][1].tolist() == text[name][1].tolist()
    assert objects["scenario"][1][0] is batch.labels[0]
