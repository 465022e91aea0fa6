"""Coverage (应检尽检): who is sampled, who is missing, by office, community, grid and building."""
