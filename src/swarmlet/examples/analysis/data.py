"""The Seattle weather dataset (vega_datasets' bundled copy of NOAA data), queried with SQLite.

``vega_datasets`` ships ``seattle-weather.csv``: one row per day from 2012-01-01 to 2015-12-31
(date, precipitation in mm, temp_max / temp_min in °C, wind in m/s, and a weather label). It is
loaded once into an in-memory SQLite database that is then made read-only, so the agents'
tools, including the free-form :meth:`WeatherData.run_sql`, can read but never change it.
"""

from __future__ import annotations

import csv
import sqlite3
import threading
from pathlib import Path
from typing import Any, Literal

from swarmlet.exceptions import ConfigurationError

__all__ = ["COLUMNS", "Measure", "WeatherData", "dataset_path"]

Measure = Literal["precipitation", "temp_max", "temp_min", "wind"]
"""The numeric columns a tool may summarise."""

COLUMNS = ("date", "precipitation", "temp_max", "temp_min", "wind", "weather")
_MAX_ROWS = 50


def dataset_path() -> Path:
    """Where vega_datasets keeps its local copy of ``seattle-weather.csv``.

    Raises:
        ConfigurationError: vega_datasets is not installed.
    """
    try:
        from vega_datasets import local_data
    except ImportError as exc:
        raise ConfigurationError(
            f"the analysis example needs vega_datasets: pip install 'swarmlet[analysis]' ({exc})"
        ) from None
    return Path(local_data.seattle_weather.filepath)


class WeatherData:
    """Read-only SQL over the dataset; the public methods are the analysts' tools."""

    def __init__(self, path: Path | None = None) -> None:
        # Sync tools may run on pool threads (and in parallel): one connection, under a lock.
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._lock = threading.Lock()
        self._load(path or dataset_path())
        self._db.execute("PRAGMA query_only = ON")

    def _load(self, path: Path) -> None:
        self._db.execute(
            "CREATE TABLE weather (date TEXT PRIMARY KEY, precipitation REAL, temp_max REAL,"
            " temp_min REAL, wind REAL, weather TEXT)"
        )
        with path.open(newline="", encoding="utf-8") as file:
            rows = [
                (
                    r["date"].replace("/", "-"),
                    float(r["precipitation"]),
                    float(r["temp_max"]),
                    float(r["temp_min"]),
                    float(r["wind"]),
                    r["weather"],
                )
                for r in csv.DictReader(file)
            ]
        self._db.executemany("INSERT INTO weather VALUES (?, ?, ?, ?, ?, ?)", rows)
        self._db.commit()

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self._db.execute(sql, params)
            names = [d[0] for d in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchmany(_MAX_ROWS)]

    def describe(self) -> dict[str, Any]:
        """The table's columns (with units), number of days and date range."""
        (info,) = self._query(
            "SELECT COUNT(*) AS days, MIN(date) AS first, MAX(date) AS last FROM weather"
        )
        units = {"precipitation": "mm", "temp_max": "°C", "temp_min": "°C", "wind": "m/s"}
        return {"table": "weather", "columns": list(COLUMNS), "units": units, **info}

    def yearly_summary(self, measure: Measure) -> list[dict[str, Any]]:
        """Per year: the average, minimum, maximum and total of one measure.

        Args:
            measure: precipitation, temp_max, temp_min or wind.
        """
        column = _checked(measure)
        return self._query(
            f"SELECT substr(date, 1, 4) AS year, ROUND(AVG({column}), 2) AS average, "
            f"MIN({column}) AS minimum, MAX({column}) AS maximum, "
            f"ROUND(SUM({column}), 1) AS total FROM weather GROUP BY year ORDER BY year"
        )

    def monthly_average(self, measure: Measure) -> list[dict[str, Any]]:
        """The average of one measure for each calendar month, over all years.

        Args:
            measure: precipitation, temp_max, temp_min or wind.
        """
        column = _checked(measure)
        return self._query(
            f"SELECT CAST(substr(date, 6, 2) AS INTEGER) AS month, "
            f"ROUND(AVG({column}), 2) AS average FROM weather GROUP BY month ORDER BY month"
        )

    def extremes(self, measure: Measure, highest: bool = True, n: int = 5) -> list[dict[str, Any]]:
        """The days with the highest (or lowest) values of one measure.

        Args:
            measure: precipitation, temp_max, temp_min or wind.
            highest: the highest values if true, else the lowest.
            n: how many days (at most 20).
        """
        column = _checked(measure)
        order = "DESC" if highest else "ASC"
        return self._query(
            f"SELECT date, {column} AS value, weather FROM weather "
            f"ORDER BY {column} {order}, date LIMIT ?",
            (max(1, min(n, 20)),),
        )

    def weather_counts(self) -> list[dict[str, Any]]:
        """How many days had each kind of weather (rain, sun, fog, drizzle, snow), per year."""
        return self._query(
            "SELECT substr(date, 1, 4) AS year, weather, COUNT(*) AS days FROM weather "
            "GROUP BY year, weather ORDER BY year, days DESC"
        )

    def run_sql(self, query: str) -> list[dict[str, Any]]:
        """Run a read-only SQL query on the ``weather`` table (at most 50 rows come back).

        Args:
            query: one SELECT statement (SQLite dialect); dates are 'YYYY-MM-DD' text.
        """
        try:
            return self._query(query)
        except sqlite3.Error as exc:  # the model sees the message and can fix its query
            raise ValueError(f"SQLite rejected the query: {exc}") from None


def _checked(measure: str) -> str:
    # Column names cannot be bound as parameters; only these four ever reach the SQL text.
    if measure not in ("precipitation", "temp_max", "temp_min", "wind"):
        raise ValueError(f"unknown measure {measure!r}")
    return measure
