"""Sweep: plan and command a district-wide mass testing round by the 54321 method."""

__version__ = "0.1.0"
