"""Containers: a built image started as a supervised process or Docker container."""
