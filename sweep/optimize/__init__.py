"""Pure planning algorithms: plain arrays in, plain dataclasses out, no database."""
