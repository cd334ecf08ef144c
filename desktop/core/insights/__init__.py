"""Insights: how the history's generations, speeds, ratings and disk use change over time.

Everything is computed from the history's LanceDB table with column scans and
pyarrow compute kernels (``compute.py``): only the columns a series needs are
read, numbers inside the JSON columns are pulled out with vectorised regular
expressions, and grouping is pyarrow's ``group_by``, so no Python object is
built per record.  Each result is a :class:`~desktop.core.insights.series.Series`
(a titled pyarrow table) that writes itself as CSV.
"""

from desktop.core.insights.compute import Insights, compute_insights
from desktop.core.insights.query import InsightsQuery
from desktop.core.insights.series import Series

__all__ = ["Insights", "InsightsQuery", "Series", "compute_insights"]
