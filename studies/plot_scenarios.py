"""Run the contrasting scenarios of models/scenarios/ and plot the main stocks.

Writes models/scenarios.png, the picture in models/README.md: captive vs market-based
chain, no shock vs policy shock, weak vs strong local learning sources, plus the race
to the bottom, and no start vs buyer-led vs state-led start. It uses PySD directly
(the compiled core is not needed to draw a picture) and translates a copy of the model
in a temporary directory, because PySD writes a .py next to the .mdl it reads and must
not write into the repository.

Usage: python studies/plot_scenarios.py [--out PATH]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import tomllib
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

MODELS = Path(__file__).resolve().parents[1] / "models"
MODEL = MODELS / "gvc_upgrading.mdl"
SCENARIOS = MODELS / "scenarios"

#: (row title, [(scenario file stem, line style)]): each row contrasts settings that
#: differ in one mechanism of the design note.
CONTRASTS = [
    ("Captive vs\nmarket-based", [("captive", "-"), ("market-based", "--")]),
    ("No shock vs\npolicy shock (yr 5)", [("no-shock", "--"), ("policy-shock", "-")]),
    (
        "Shock: weak vs\nstrong learning sources",
        [("policy-shock-weak-institutions", "--"), ("policy-shock-strong-institutions", "-")],
    ),
    ("Little scouting vs\nrace to the bottom", [("no-shock", "--"), ("race-to-the-bottom", "-")]),
    (
        "No start vs buyer-led\nvs state-led start (yr 5)",
        [("no-shock", "--"), ("buyer-led-start", "-"), ("state-led-start", ":")],
    ),
]

#: (variable, axis label with units): capabilities and shares are fractions of the
#: frontier or of orders, price and position are indices relative to the start.
PANELS = [
    ("Process Capability", "Process capability\n[Dmnl, 0-1 of frontier]"),
    ("Product Capability", "Product capability\n[Dmnl, 0-1 of frontier]"),
    ("Innovation Capability", "Innovation capability\n[Dmnl, 0-1 of frontier]"),
    ("Search Effort", "Search effort\n[Dmnl, 0-1]"),
    ("Buyer Control", "Buyer control\n[Dmnl, 0 market - 1 captive]"),
    ("Market Share", "Market share\n[Dmnl, share of orders]"),
    ("Market Position", "Cluster market position\n[Dmnl, share x deflated\nunit value, 1 = start]"),
]


def load_scenario(path: Path) -> tuple[str, dict[str, float]]:
    """Read one scenario file: its one-line description and its lever values."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return data["description"], {k: float(v) for k, v in data.get("parameters", {}).items()}


def run_scenarios(names: list[str]) -> dict[str, pd.DataFrame]:
    """Run each named scenario once through PySD from a temporary copy of the model.

    PySD keeps parameters between runs, so each run passes every lever any scenario
    sets, falling back to the model's own default.
    """
    import pysd

    scenarios = {n: load_scenario(SCENARIOS / f"{n}.toml")[1] for n in names}
    with tempfile.TemporaryDirectory(prefix="gvc_plot_") as tmp:
        copy = Path(tmp) / MODEL.name
        shutil.copy(MODEL, copy)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = pysd.read_vensim(str(copy))
            touched = {k for p in scenarios.values() for k in p}
            defaults = {k: float(model[k]) for k in touched}
            cols = [v for v, _ in PANELS]
            return {
                n: model.run(params={**defaults, **p}, return_columns=cols)
                for n, p in scenarios.items()
            }


def plot(out: Path) -> None:
    """Draw one row per contrast and one column per stock, and save the PNG."""
    names = sorted({n for _, runs in CONTRASTS for n, _ in runs})
    results = run_scenarios(names)
    fig, axes = plt.subplots(
        len(CONTRASTS),
        len(PANELS),
        figsize=(2.3 * len(PANELS), 2.3 * len(CONTRASTS)),
        sharex=True,
    )
    colours = {0: "tab:red", 1: "tab:blue", 2: "tab:green"}
    for i, (title, runs) in enumerate(CONTRASTS):
        for j, (var, label) in enumerate(PANELS):
            ax = axes[i, j]
            for k, (name, style) in enumerate(runs):
                df = results[name]
                ax.plot(df.index, df[var], style, color=colours[k], lw=1.6, label=name)
            if var == "Market Position":
                ax.set_yscale("log")
            else:
                ax.set_ylim(-0.02, 1.02)
            if i == 0:
                ax.set_title(label, fontsize=8)
            if i == len(CONTRASTS) - 1:
                ax.set_xlabel("Time [Year]", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
        axes[i, 0].set_ylabel(title, fontsize=8)
        axes[i, -1].legend(fontsize=6, loc="upper left")
    fig.suptitle(
        "GVC upgrading model: contrasting scenarios (models/scenarios/*.toml)", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(out, dpi=72)
    plt.close(fig)


def main() -> None:
    """Command-line entry: write the scenario picture."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MODELS / "scenarios.png")
    args = parser.parse_args()
    plot(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} kB)")


if __name__ == "__main__":
    main()
