"""Synthetic demo district: generate, load and play a testing round."""
