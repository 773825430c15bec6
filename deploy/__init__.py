"""Running the pipeline: the `occupancy` command line, the local stack, deployment files."""
