"""The Insights workspace: plots of the history's usage, speed, ratings and disk use over time."""
