"""The dashboard (``python run.py dashboard``): helpers, one-line errors, and end-to-end tests
that drive headless Chromium against the dashboard started as a real subprocess.

The browser tests need Debian's ``chromium`` (/usr/bin/chromium), playwright and the
``dashboard`` extra (Solara); ``.ci/run`` installs them. Without them the browser tests skip
locally and fail in CI (CI=true).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from simulation import dashboard

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
IN_CI = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")
SCRIPT_NAME = "<script>alert(1)</script>"
COMPARISON_NAME = 'Essai <img src=x onerror=alert(2)> & "guillemets"'
DOLLAR_NAME = "Universel $x$ <i>pas en italique</i>"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ helpers (no browser)


def test_french_numbers_and_labels():
    """The dashboard writes numbers and names groups in French through simulation.labels
    (tested in tests/test_labels.py): a paired change has three decimals and its sign,
    as in the report."""
    assert dashboard.LANG == "fr"
    assert dashboard.change_text({"diff": 0.5, "diff_lo": -0.25, "diff_hi": 1.0}) == (
        "+0,500 [\u22120,250\u202f; +1,000]")
    assert dashboard.change_text({"diff": -0.0001, "diff_lo": None, "diff_hi": 0.2}) == (
        "0,000 [n.d.\u202f; +0,200]")  # no "−0,000"
    assert dashboard.change_text(None) == "n.d."
    table = dashboard.pd.DataFrame([{"scenario": "base", "group": g, "value": 80.04}
                                    for g in ("31", "09")])
    header, rows = dashboard.changes_table(table, ["base"], "department")
    assert header[0] == "Département"
    assert rows == [["09 Ariège", "80,0"], ["31 Haute-Garonne", "80,0"]]


def test_tables_escape_every_cell():
    out = dashboard.html_table([SCRIPT_NAME], [[COMPARISON_NAME]], "t", caption=SCRIPT_NAME)
    assert "<script>" not in out and "<img" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&lt;img src=x onerror=alert(2)&gt; &amp; &quot;guillemets&quot;" in out
    img = dashboard.img_html(b"png", 'a "quoted" <alt>', 'x" onload="alert(3)')
    assert 'onload="' not in img and "&quot;" in img


def test_figures_render_user_names_as_text():
    """A ``$`` in a scenario name would start matplotlib's mathtext (an unbalanced one
    raises); names are escaped, so the figure renders."""
    import pandas as pd

    rows = []
    for s, name in enumerate(["baseline", DOLLAR_NAME, "100 $ par an"]):
        for g in range(1, 6):
            rows.append({"scenario": name, "group": str(g), "value": 75 + g + s / 10,
                         "lo": 74 + g, "hi": 76 + g, "diff": s / 10, "diff_lo": 0.0,
                         "diff_hi": s / 5})
    png = dashboard.outcome_figure(pd.DataFrame(rows), ["baseline", DOLLAR_NAME,
                                                        "100 $ par an"],
                                   "income_quintile", "life_expectancy", 0, "F")
    assert png.startswith(b"\x89PNG")


@pytest.mark.parametrize("mode", ["universal", "targeted", "proportionate"])
def test_live_scenarios_are_valid_for_every_type(mode):
    from simulation.interventions import TYPES

    for t in TYPES:
        base, inter = dashboard.live_scenarios(t.name, mode, 20)
        assert base.agents == inter.agents == dashboard.LIVE_AGENTS
        assert base.years == inter.years == dashboard.LIVE_YEARS
        assert base.seed == inter.seed  # common random numbers
        assert not base.interventions
        (iv,) = inter.interventions
        assert iv.type == t.name and iv.allocation.mode == mode
        assert iv.allocation.budget_eur == 20e6


def test_live_run_gives_quintile_gaps():
    out = dashboard.run_live("smoking_cessation", "targeted", 20)
    for which in ("base", "int"):
        assert set(out["gaps"][which]) == {"M", "F"}
        assert all(0 < abs(v) < 40 for v in out["gaps"][which].values())
    assert out["cost_eur_per_year"] > 0
    assert dashboard.live_figure(out["base_le"], out["int_le"], "x $").startswith(b"\x89PNG")


# ------------------------------------------------------------------ one-line errors


def _bad_databases(tmp: Path) -> dict[str, str]:
    corrupt = tmp / "corrupt.db"
    corrupt.write_bytes(b"this is not a database\x00" * 100)
    foreign = tmp / "foreign.db"
    with sqlite3.connect(foreign) as c:
        c.execute("CREATE TABLE t (a)")
    return {
        "missing": f"sqlite:///{tmp / 'missing.db'}",
        "corrupt": f"sqlite:///{corrupt}",
        "not_ours": f"sqlite:///{foreign}",
        "unreachable": "postgresql+psycopg://nobody@127.0.0.1:1/nothing",
        "malformed": "not-a-database-url",
    }


def _one_line_exit_2(code: int, out: str, err: str) -> None:
    assert code == 2, (out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("run.py: error:"), err
    assert "Traceback" not in err


def test_corrupt_or_unreachable_database_is_one_line_exit_2(tmp_path):
    """``python run.py dashboard --db ...`` as a user runs it (both at once: each start
    imports the package)."""
    dbs = _bad_databases(tmp_path)
    cases = ["corrupt"]
    try:
        import psycopg  # noqa: F401

        cases.append("unreachable")
    except ImportError:
        pass
    env = {k: v for k, v in os.environ.items() if k != "HEALTHGAP_DB"}
    procs = [subprocess.Popen([sys.executable, "run.py", "dashboard", "--db", dbs[c], "--port",
                               str(_free_port())], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for c in cases]
    for case, proc in zip(cases, procs, strict=True):
        out, err = proc.communicate(timeout=120)
        _one_line_exit_2(proc.returncode, out, err)
        assert "database" in err, (case, err)


@pytest.mark.parametrize("case", ["missing", "corrupt", "not_ours", "unreachable", "malformed"])
def test_database_problem_is_one_line_exit_2(tmp_path, capsys, case):
    from simulation.cli import main

    if case == "unreachable":
        pytest.importorskip("psycopg")
    url = _bad_databases(tmp_path)[case]
    code = main(["dashboard", "--db", url, "--port", str(_free_port())])
    out, err = capsys.readouterr()
    _one_line_exit_2(code, out, err)


# ------------------------------------------------------------------ end to end


def _need(what: str) -> None:
    if IN_CI:
        pytest.fail(f"dashboard browser tests cannot run in CI: {what} (.ci/run installs it)")
    pytest.skip(f"dashboard browser tests skipped: {what}")


def _comparison_toml(path: Path) -> None:
    baseline = (ROOT / "scenarios" / "baseline.toml").resolve()
    q = json.dumps  # a JSON string is a TOML basic string
    path.write_text(f"""
[comparison]
name = {q(COMPARISON_NAME)}
question = {q("Question <b>pas en gras</b> ?")}
baseline = {q(str(baseline))}

[run]
agents = 12000
years = 8
replicates = 2
seed = 1

[[scenarios]]
name = {q(SCRIPT_NAME)}
[[scenarios.interventions]]
type = "smoking_cessation"
allocation = {{ mode = "targeted", by = "income_rank", max_rank = 0.2, budget_eur = 20000000 }}

[[scenarios]]
name = {q(DOLLAR_NAME)}
[[scenarios.interventions]]
type = "smoking_cessation"
allocation = {{ mode = "universal", budget_eur = 20000000 }}
""", "utf-8")


@pytest.fixture(scope="module")
def stored_db(tmp_path_factory) -> str:
    """A SQLite store with two small comparisons: the default one, then (newest, shown first)
    one whose names hold HTML and a script."""
    from simulation.comparison import load_comparison, run_comparison
    from simulation.store import Store

    tmp = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{tmp / 'results.db'}"
    _comparison_toml(tmp / "hostile.toml")
    specs = [load_comparison(ROOT / "scenarios" / "default.toml").with_options(
        agents=12000, years=8, replicates=2), load_comparison(tmp / "hostile.toml")]
    with Store(url) as store:
        for spec in specs:
            summary, run_ids = run_comparison(spec, store)
            store.save_comparison(spec.name, spec.baseline.hash,
                                  [s.hash for s in spec.scenarios], run_ids, summary)
    return url


def test_port_in_use_is_one_line_exit_2(stored_db, capsys):
    from simulation.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        code = main(["dashboard", "--db", stored_db, "--port", str(port)])
    out, err = capsys.readouterr()
    _one_line_exit_2(code, out, err)
    assert f"--port {port}" in err


@pytest.fixture(scope="module")
def server(stored_db, tmp_path_factory):
    """The dashboard as a real subprocess on a free loopback port; yields its URL."""
    try:
        import solara  # noqa: F401
    except ImportError:
        _need("Solara is not installed (pip install -e '.[dashboard]')")
    port = _free_port()
    log = tmp_path_factory.mktemp("dashboard-log") / "server.log"
    env = {k: v for k, v in os.environ.items() if k != "HEALTHGAP_DB"}
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "run.py", "dashboard", "--db", stored_db, "--port", str(port)],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the dashboard exited with {proc.returncode}: {log.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the dashboard did not answer within 90 s: {log.read_text()}")
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    first = log.read_text().splitlines()[:1]
    assert first and first[0].startswith(f"Dashboard at {url}"), first


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        _need(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class _Watch:
    """Console errors, page errors, failed requests and dialogs of one page."""

    def __init__(self, page):
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url}"))
        page.on("dialog", self._dialog)

    def _dialog(self, d):
        self.dialogs.append(d.message)
        d.dismiss()


def _choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the Vuetify select labelled ``label``."""
    page.locator(".v-input", has_text=label).locator(".v-select__slot").click()
    page.locator(".menuable__content__active .v-list-item", has_text=option).first.click()


def _figure_changes(page, test_id: str, before: str) -> str:
    page.wait_for_function(
        "([id, s]) => { const e = document.querySelector(`[data-testid=${id}]`);"
        " return e !== null && e.src !== s; }", arg=[test_id, before], timeout=20000)
    return page.get_attribute(f"[data-testid={test_id}]", "src")


def test_browse_comparisons_in_browser(server, browser):
    page = browser.new_page(viewport={"width": 1300, "height": 1400})
    watch = _Watch(page)
    page.goto(server)
    figure = page.locator("[data-testid=outcome-figure]")
    figure.wait_for(timeout=60000)

    # the newest comparison: every user-supplied name appears as text, nothing runs
    body = page.locator("body").inner_text()
    for text in (SCRIPT_NAME, COMPARISON_NAME, DOLLAR_NAME, "Question <b>pas en gras</b> ?"):
        assert text in body, text
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("b", has_text="pas en gras").count() == 0
    assert page.locator("i", has_text="pas en italique").count() == 0
    assert not page.evaluate(
        "() => [...document.scripts].some(s => s.textContent.includes('alert(1)'))")
    changes = page.locator("[data-testid=changes-table]")
    assert SCRIPT_NAME in changes.locator("thead").inner_text()
    assert changes.locator("tbody tr").count() == 20  # vingtiles
    src = figure.get_attribute("src")
    assert src.startswith("data:image/png;base64,")

    # another SEP dimension: a new figure and a table by quintile
    _choose(page, "Dimension socio-économique", "Quintile de niveau de vie")
    src2 = _figure_changes(page, "outcome-figure", src)
    rows = changes.locator("tbody tr")
    rows.nth(4).wait_for()
    assert rows.count() == 5
    assert rows.first.locator("td").first.inner_text() == "Q1"

    # women, healthy life expectancy
    page.get_by_role("button", name="Femmes").click()
    src3 = _figure_changes(page, "outcome-figure", src2)
    _choose(page, "Indicateur", "Espérance de vie sans incapacité")
    src4 = _figure_changes(page, "outcome-figure", src3)
    # the table may re-render after the figure: wait for its new caption, then check it
    page.locator("[data-testid=changes-table] caption", has_text="sans incapacité").wait_for(
        timeout=30000)
    assert "sans incapacité" in page.locator("[data-testid=changes-table] caption").inner_text()

    # the other stored comparison
    _choose(page, "Comparaison enregistrée", "n° 1")
    _figure_changes(page, "outcome-figure", src4)
    page.get_by_text("Universalisme proportionné").first.wait_for()
    headline = page.locator("[data-testid=headline-table]").inner_text()
    assert "Ciblé (20 % les plus modestes)" in headline and SCRIPT_NAME not in headline

    page.wait_for_timeout(300)
    assert watch.dialogs == []
    assert watch.errors == []
    page.close()


def test_live_model_in_browser(server, browser):
    page = browser.new_page(viewport={"width": 1300, "height": 1400})
    watch = _Watch(page)
    page.goto(server)
    page.locator("[data-testid=outcome-figure]").wait_for(timeout=60000)
    page.get_by_role("tab", name="Modèle en direct").click()
    # the tab opens on the default settings' result, without a click
    page.locator("[data-testid=live-table]").wait_for(timeout=90000)
    assert "Résultat pour : Aide au sevrage tabagique" in page.locator("body").inner_text()
    _choose(page, "Mode d'allocation", "Universel")
    page.get_by_role("button", name="Lancer la simulation").click()
    table = page.locator("[data-testid=live-table]")
    table.wait_for(timeout=90000)
    text = table.inner_text()
    assert "Hommes" in text and "Femmes" in text and "Q5 − Q1" in text
    assert "Universel" in page.locator("body").inner_text()
    assert page.get_attribute("[data-testid=live-figure]", "src").startswith(
        "data:image/png;base64,")
    assert watch.dialogs == []
    assert watch.errors == []
    page.close()


def test_interval_kind_is_stated():
    from simulation.dashboard import interval_kind_text

    assert "hasard de la simulation seulement" in interval_kind_text({"replicates": 3})
    psa = interval_kind_text({"replicates": 4, "uncertainty": {
        "kind": "chance+parameters", "calibration": "défaut", "calibration_id": 7, "draws": 4}})
    assert "incertitude sur les paramètres" in psa and "«\u00a0défaut\u00a0»" in psa and "4 tirages" in psa
    effects = interval_kind_text({"replicates": 5, "uncertainty": {"kind": "chance+effects",
                                                                   "draws": 5}})
    assert "incertitude sur l'effet des interventions (5 tirages" in effects
