"""The verdict report: one self-contained HTML page and a results.json of claim records."""

from grokcore.report.render import load_results_json, render_report, write_results_json
from grokcore.report.settings import settings_table

__all__ = ["load_results_json", "render_report", "settings_table", "write_results_json"]
