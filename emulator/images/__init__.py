"""Image builds: the build context and generated Dockerfile, builders, logs and image records."""
