"""How a container is actually started: a subprocess (``process``) or the Docker engine."""
