"""``amlemu portal``: a local, offline stand-in for Azure ML studio's blades (models, images,
compute, deployments), with a try-it panel and a deploy form. Served on 127.0.0.1 only."""
