"""The population registry: offices, communities, grids, buildings, people, candidate sites, staff."""
