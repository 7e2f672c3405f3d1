"""``gvcdyn report`` through the console script: a calibration fit's and a sensitivity
study's report for any model, numbers as in the file, bad input refused in one line.

The fit is the toy model's (tests/data/calibration) with small settings and every
optional part (profiles, bootstrap, posterior, reality checks, cross-validation), so
each section the report can hold is checked against the file; a copy with the optional
variables dropped checks that their sections go with them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from console import gvcdyn
from toy_calibration import TOY_CHECKS, quick_toy_config

from gvcdyn.calibrate.config import PosteriorSettings, SparseCovariate
from gvcdyn.calibrate.study import calibrate
from gvcdyn.io.results_io import write_netcdf

DATA = Path(__file__).parent / "data" / "calibration"
ISHIGAMI = Path(__file__).parent / "models" / "ishigami.mdl"
#: a distribution and a group (docs/sensitivity.md, "The ranges file")
RANGES = """
[distributions]
"X3" = { dist = "triangular", low = -3, high = 3, mode = 0 }
[groups]
"X1 and X2" = ["X1", "X2"]
"""


@pytest.fixture(scope="module")
def fit_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fit")
    checks = folder / "toy.checks.toml"
    checks.write_text(TOY_CHECKS)
    config = quick_toy_config(
        profile_points=5,
        bootstrap=3,
        posterior=PosteriorSettings(steps=40, walkers=8, seed=4),
        checks=checks,
        cv_sparse=(SparseCovariate("shock", ("trigger",), prefixes=("shock",)),),
    )
    ds = calibrate(config, crossval=True, command_line=["gvcdyn", "calibrate", "toy"])
    return write_netcdf(ds, folder / "fit.nc")


@pytest.fixture(scope="module")
def study_files(tmp_path_factory) -> dict[str, Path]:
    import gvcdyn
    from gvcdyn.sensitivity import study as sens

    folder = tmp_path_factory.mktemp("study")
    model = gvcdyn.load(ISHIGAMI)
    study = sens.prepare(model, ["Ishigami", "Accumulated Ishigami"], at="2,4")
    argv = ["gvcdyn", "sensitivity"]
    sobol = sens.sobol(study, 64, seed=3, second_order=True, command_line=argv)
    morris = sens.morris(study, 10, seed=3, command_line=argv)
    ranges = folder / "ranges.toml"
    ranges.write_text(RANGES)
    grouped = sens.prepare(model, ["Ishigami"], at="all", ranges=ranges)
    return {
        "sobol": write_netcdf(sobol, folder / "sens.nc"),
        "morris": write_netcdf(morris, folder / "morris.nc"),
        "grouped": write_netcdf(sens.sobol(grouped, 32, seed=3), folder / "grouped.nc"),
    }


def _sections(text: str) -> dict[str, str]:
    """Heading -> its text up to the next heading of any level."""
    parts = re.split(r"^(#{1,6} .*)$", text, flags=re.M)
    return {parts[i].lstrip("#").strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def _tables(text: str) -> list[list[dict[str, str]]]:
    """Every Markdown table in ``text`` as a list of rows (column -> cell)."""
    tables, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            head = [c.strip() for c in lines[i].strip("|").split(" | ")]
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split(" | ")]
                rows.append(dict(zip(head, cells, strict=True)))
                i += 1
            tables.append(rows)
        else:
            i += 1
    return tables


def _interval(cell: str) -> tuple[float, float]:
    low, high = cell.strip("[]").split(", ")
    return float(low.lstrip("<")), float(high.rstrip(">"))


def test_a_fit_report_holds_the_files_numbers(fit_file, tmp_path):
    source = shutil.copy2(fit_file, tmp_path / "fit.nc")
    done = gvcdyn("report", source, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = tmp_path / "fit_report.md"  # the default: beside the input
    assert f"wrote {report}" in done.stdout
    text = report.read_text()
    ds = xr.load_dataset(fit_file)
    sections = _sections(text)
    for title in (
        "Calibration report",
        "Estimates",
        "Posterior",
        "Identifiability",
        "Reality checks at the estimate",
        "Cross-validation",
        "all (40 cases)",
        "Observed vs predicted, per case",
    ):
        assert title in sections, (title, list(sections))

    estimates = _tables(sections["Estimates"])[0]
    names = [str(n) for n in ds["parameter"].values]
    assert [row["parameter"] for row in estimates] == names
    post = np.percentile(ds["posterior_draw"].values.reshape(-1, len(names)), [2.5, 97.5], axis=0)
    for i, row in enumerate(estimates):
        assert row["estimate"] == f"{ds['estimate'].values[i]:.4g}"
        low, high = _interval(row["95% profile"])
        assert f"{low:.3g}" == f"{ds['lower'].values[i]:.3g}"
        assert f"{high:.3g}" == f"{ds['upper'].values[i]:.3g}"
        assert row["95% profile"].startswith("[<") == bool(ds["lower_open"].values[i])
        low, high = _interval(row["95% bootstrap"])
        assert (low, high) == (
            float(f"{ds['bootstrap_lower'].values[i]:.3g}"),
            float(f"{ds['bootstrap_upper'].values[i]:.3g}"),
        )
        assert _interval(row["95% posterior"]) == (
            float(f"{post[0, i]:.3g}"),
            float(f"{post[1, i]:.3g}"),
        )
        assert row["identifiability"] == str(ds["identifiability"].values[i])
    objective = re.search(r"Objective \([^)]*\): ([0-9]+(?:\.[0-9]+)?)", sections["Estimates"])[1]
    assert float(objective) == float(f"{ds.attrs['objective']:.6g}")

    verdict = "**converged**" if ds.attrs["posterior_converged"] else "**not converged**"
    assert verdict in sections["Posterior"]
    assert ds.attrs["posterior_convergence_failures"] in sections["Posterior"]
    assert f"rank {ds.attrs['fisher_rank']} of 2" in sections["Identifiability"]
    assert "![Profile likelihoods](fit_report_profiles.png)" in text
    assert (tmp_path / "fit_report_profiles.png").stat().st_size > 5_000

    checks = _tables(sections["Reality checks at the estimate"])[0]
    assert checks[0]["check"] == "skill stays moderate by year 10"
    assert checks[0]["margin"] == f"{ds['check_margin'].values[0]:.4g}"
    assert checks[0]["holds"] == ("yes" if ds["check_holds"].values[0] else "**no**")

    cv = _tables(sections["all (40 cases)"])[0]
    predictors = {str(p) for p in ds["cv_predictor"].values}
    assert predictors == {"model", "frequencies", "context", "sparse"}
    assert {row["predictor"] for row in cv} == predictors
    assert all(f"`{p}`: " in sections["Cross-validation"] for p in predictors)  # the legend
    first = cv[0]
    sel = dict(
        cv_subset="all",
        cv_scheme=first["scheme"],
        cv_outcome=first["outcome"],
        cv_predictor=first["predictor"],
        cv_metric="log_loss",
    )
    assert first["log_loss"].startswith(f"{float(ds['cv_score'].sel(**sel)):.3f} [")

    cases = _tables(sections["Observed vs predicted, per case"])[0]
    assert [row["case"] for row in cases] == [str(c) for c in ds["case"].values]
    levels = ["decline", "stay", "rise"]
    k = list(ds["outcome"].values).index("outcome_class")
    for i, row in enumerate(cases):
        observed = int(ds["observed"].values[i, k])
        p = ds["probability"].values[i, k, observed]
        assert row["outcome_class"].startswith(f"{levels[observed]} / ")
        assert row["outcome_class"].endswith(f"({p:.2f})")


def test_a_fit_without_its_optional_parts_leaves_their_sections_out(fit_file, tmp_path):
    ds = xr.load_dataset(fit_file)
    drop = [
        v
        for v in ds.data_vars
        if v.startswith(("posterior_", "predictive_", "cv_", "check_", "bootstrap_"))
        or v == "loo_probability"
    ]
    ds = ds.drop_vars(drop)
    ds.attrs = {k: v for k, v in ds.attrs.items() if not k.startswith("posterior_")}
    source = write_netcdf(ds, tmp_path / "plain.nc")
    done = gvcdyn("report", source, "--out", tmp_path / "out" / "r.md")
    assert done.returncode == 0, done.stderr
    sections = _sections((tmp_path / "out" / "r.md").read_text())
    assert "Estimates" in sections and "Observed vs predicted, per case" in sections
    for gone in ("Posterior", "Cross-validation", "Reality checks at the estimate"):
        assert gone not in sections
    columns = set(_tables(sections["Estimates"])[0][0])
    assert "95% profile" in columns
    assert not {"95% bootstrap", "95% posterior"} & columns
    assert (tmp_path / "out" / "r_profiles.png").is_file()


def test_an_html_report_is_one_self_contained_page(fit_file, tmp_path):
    done = gvcdyn("report", fit_file, "-o", tmp_path / "fit.html")
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "fit.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<h2>Estimates</h2>" in page and "<table>" in page
    assert re.search(
        r'<img alt="Profile likelihoods" src="data:image/png;base64,[A-Za-z0-9+/]', page
    )
    assert 'src="fit_profiles.png"' not in page
    ds = xr.load_dataset(fit_file)
    assert f"<td>{ds['estimate'].values[0]:.4g}</td>" in page


def test_a_sobol_study_report_has_every_output_time_and_input(study_files, tmp_path):
    source = shutil.copy2(study_files["sobol"], tmp_path / "sens.nc")
    done = gvcdyn("report", source)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "sens_report.md").read_text()
    assert (tmp_path / "sens_report_indices.png").stat().st_size > 10_000
    assert "![Sensitivity indices](sens_report_indices.png)" in text
    ds = xr.load_dataset(study_files["sobol"])
    sections = _sections(text)
    assert sections.keys() >= {"Inputs", "Ishigami", "Accumulated Ishigami"}
    inputs = _tables(sections["Inputs"])[0]
    assert [row["input"] for row in inputs] == ["X1", "X2", "X3"]
    assert float(inputs[0]["max"]) == pytest.approx(ds["parameter_max"].values[0], abs=1e-3)
    for output in ("Ishigami", "Accumulated Ishigami"):
        body = sections[output]
        tables = _tables(body)
        assert [f"**At time {t:g} Year.**" in body for t in ds.time.values] == [True, True]
        for t, table in zip(ds.time.values, tables[:2], strict=True):
            one = ds.sel(output=output, time=t)
            st = [float(one["ST"].sel(parameter=row["input"])) for row in table]
            assert st == sorted(st, reverse=True)  # ranked by ST
            for row in table:
                p = dict(parameter=row["input"])
                assert row["ST"] == (
                    f"{float(one['ST'].sel(**p)):.3f} ± {float(one['ST_conf'].sel(**p)):.3f}"
                )
                assert row["S1"] == (
                    f"{float(one['S1'].sel(**p)):.3f} ± {float(one['S1_conf'].sel(**p)):.3f}"
                )
        pairs = tables[2]
        assert len(pairs) == 3  # every pair of three inputs
        last = ds.sel(output=output).isel(time=-1)
        for row in pairs:
            key = row[next(iter(row))]
            value = float(last["S2"].sel(parameter=key, parameter_2=row["with"]))
            assert row["S2 (largest first)"].startswith(f"{value:.3f} ± ")


def test_a_morris_study_report_ranks_by_mu_star(study_files, tmp_path):
    done = gvcdyn("report", study_files["morris"], "-o", tmp_path / "m.md")
    assert done.returncode == 0, done.stderr
    sections = _sections((tmp_path / "m.md").read_text())
    ds = xr.load_dataset(study_files["morris"])
    table = _tables(sections["Ishigami"])[0]
    one = ds.sel(output="Ishigami").isel(time=0)
    values = [float(one["mu_star"].sel(parameter=row["input"])) for row in table]
    assert values == sorted(values, reverse=True)
    row = table[0]
    assert row["mu*"].startswith(f"{values[0]:.3f} ± ")
    assert row["mu"] == f"{float(one['mu'].sel(parameter=row['input'])):.3g}"


def test_a_grouped_study_over_many_times_names_groups_distributions_and_times(
    study_files, tmp_path
):
    ds = xr.load_dataset(study_files["grouped"])  # read at the model's 5 saved times
    later = ds.assign_coords(time=ds.time.values + 10)
    ds = xr.concat([ds, later], "time", data_vars="minimal", coords="minimal")
    source = write_netcdf(ds, tmp_path / "ten_times.nc")  # as a study read 10 times
    done = gvcdyn("report", source, "-o", tmp_path / "g.md")
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "g.md").read_text()
    sections = _sections(text)
    inputs = {row["input"]: row for row in _tables(sections["Inputs"])[0]}
    assert inputs["X1 and X2"]["members"] == "X1, X2"
    assert inputs["X3"]["distribution"].startswith("triangular(")
    assert "- groups: X1 and X2: X1, X2" in text
    shown = re.findall(r"\*\*At time ([0-9.]+) Year\.\*\*", sections["Ishigami"])
    times = [f"{t:g}" for t in ds.time.values]
    assert len(shown) == 6 and shown[0] == times[0] and shown[-1] == times[-1]
    assert f"6 of the {len(times)} times read are tabulated" in text


def _refused(done: subprocess.CompletedProcess[str], words: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert words in lines[0], lines[0]
    assert "Traceback" not in done.stderr


def test_a_netcdf_that_is_neither_fit_nor_study_is_refused(tmp_path):
    source = write_netcdf(xr.Dataset({"x": ("t", np.arange(3.0))}), tmp_path / "run.nc")
    done = gvcdyn("report", source)
    _refused(done, "is neither a calibration fit")
    assert "its variables: x" in done.stderr
    assert not (tmp_path / "run_report.md").exists()


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("notes.nc", "not a netCDF file", "is not a netCDF file gvcdyn can read"),
        ("missing.nc", None, "file not found"),
    ],
)
def test_a_file_that_is_not_netcdf_or_missing_is_refused(tmp_path, name, content, words):
    if content is not None:
        (tmp_path / name).write_text(content)
    _refused(gvcdyn("report", tmp_path / name), words)


def test_an_unknown_extension_is_refused_before_reading(study_files, tmp_path):
    done = gvcdyn("report", study_files["sobol"], "--out", tmp_path / "r.txt")
    _refused(done, "the extension '.txt' is not one of .htm .html .md")
    assert not list(tmp_path.iterdir())


def test_the_gvc_calibration_report_is_the_library_report_plus_the_domain(fit_file, tmp_path):
    """``calibration/report.py`` is ``gvcdyn report`` plus the GVC sections: the cases'
    coding confidence, the seeds' claims, the worst-fitted cases and the hand notes."""
    script = Path(__file__).resolve().parents[1] / "calibration" / "report.py"
    out = tmp_path / "gvc.md"
    done = subprocess.run(
        [sys.executable, script, fit_file, "--out", out],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert text.startswith("# Calibration report: GVC upgrading model vs the case library")
    assert (tmp_path / "gvc_profiles.png").is_file()
    titles = list(_sections(text))
    library = tmp_path / "lib.md"
    assert gvcdyn("report", fit_file, "-o", library).returncode == 0
    shared = [t for t in _sections(library.read_text()) if t != "Calibration report"]
    assert [t for t in titles if t in shared] == shared  # every library section, in order
    gvc = ["What the fit says about the seeds' claims", "Cases the model gets most wrong"]
    assert titles.index(gvc[0]) > titles.index("Observed vs predicted, per case")
    assert all(t in titles for t in gvc)
    assert any(t.startswith("Reading the results") for t in titles)  # report_notes.md
    cases = _tables(_sections(text)["Observed vs predicted, per case"])[0]
    confidence = {row["case"]: row["conf."] for row in cases}
    assert confidence["TOY_00"] == "medium" and confidence["TOY_03"] == "low"  # the case file


@pytest.mark.slow
def test_the_gvc_sensitivity_report_writes_each_studys_own_report(tmp_path):
    """``studies/sensitivity_report.py`` (small N): the GVC comparison across designs,
    with every study's ``gvcdyn report`` beside its netCDF file; ``--out`` may be .html."""
    script = Path(__file__).resolve().parents[1] / "studies" / "sensitivity_report.py"
    out = tmp_path / "sensitivity.html"
    done = subprocess.run(
        [sys.executable, script, "--n", "32", "--draws", "0", "--no-fit", "--out", out],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    for title in (
        "Which levers most affect functional upgrading",
        "The governance lever itself (pooled: chain type varied too)",
        "<h2>What it says about the seeds' claims</h2>",
        "Caveats",
    ):
        assert title in page, title
    for label in ("captive", "market-based", "pooled"):
        own = tmp_path / f"sensitivity_{label}_report.md"
        text = own.read_text()
        assert text.startswith("# Sobol' sensitivity indices of gvc_upgrading")
        assert "## Functional Upgrading" in text
        assert (tmp_path / f"sensitivity_{label}_report_indices.png").is_file()


@pytest.mark.parametrize("args", [("fit.nc", "-o", "r.txt"), ("missing.nc",), ("-h",)])
def test_a_bad_name_costs_no_heavy_import(args, tmp_path):
    """A mistake on the command line is refused before xarray or matplotlib load."""
    exe = shutil.which("gvcdyn")
    (tmp_path / "fit.nc").write_bytes(b"")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", exe, "report", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 2), done.stderr[-2000:]
    names = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    assert "gvcdyn" in names, "the import log was not read"
    assert not names & {"xarray", "matplotlib", "scipy", "pandas", "numba"}


def test_the_crossval_section_says_where_the_fold_refits_start(fit_file, tmp_path):
    """A fit cross-validated with ``[crossval] model_start = true`` had a third fold
    start, the model's own values: its report says so, and a fit without it does not."""
    ds = xr.load_dataset(fit_file)
    assert "cv_model_start" not in ds.attrs
    texts = {}
    for name, flag in (("plain", None), ("model_start", 1)):
        if flag is not None:
            ds.attrs["cv_model_start"] = flag
        source = write_netcdf(ds, tmp_path / f"{name}.nc")
        done = gvcdyn("report", source, "--out", tmp_path / name / "r.md")
        assert done.returncode == 0, done.stderr
        texts[name] = _sections((tmp_path / name / "r.md").read_text())["Cross-validation"]
    assert "the model's own values" in texts["model_start"]
    assert "the model's own values" not in texts["plain"]
    assert "one Latin-hypercube point" in texts["plain"]
