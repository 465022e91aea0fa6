"""The command dashboard: the round at a glance, for the HQ's big screen."""
