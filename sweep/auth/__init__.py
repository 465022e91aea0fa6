"""Users, roles, their scope (an office or a site) and the audit log."""
