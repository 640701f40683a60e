"""Builders turn a build context into a runnable image: a virtualenv (local) or Docker."""
