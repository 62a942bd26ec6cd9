"""healthgap: agent-based microsimulation of social health inequalities in France.

Python API for notebooks::

    from simulation import load_scenario, HealthInequalityModel, run_scenario
    scenario = load_scenario("scenarios/baseline.toml").with_options(agents=20_000)
    model = HealthInequalityModel(scenario)
    model.step()                       # one year
    model.yearly_aggregates()          # DataFrame, one row per year
    model.life_table_input()           # deaths and person-years by year, sex, stratum, age
    result = run_scenario(scenario)    # the whole horizon, tidy DataFrames
    result.life_expectancy
"""

__version__ = "0.1.0"

from .config import ConfigError, Scenario, load_scenario  # noqa: E402
from .model import HealthInequalityModel  # noqa: E402
from .runner import RunResult, run_scenario  # noqa: E402

__all__ = ["ConfigError", "HealthInequalityModel", "RunResult", "Scenario", "load_scenario",
           "run_scenario", "__version__"]
