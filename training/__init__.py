"""Training recipes and their data loaders: run them as modules from the
repository root, e.g. `python -m training.train_image --help`."""
