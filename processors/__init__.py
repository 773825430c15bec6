"""Processors: Faust workers keeping occupancy and attendance."""
