"""Supervision (督导): inspections of sites, their findings and rectification."""
