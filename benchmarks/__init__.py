"""Measurement scripts (not tests): run them as modules from the repository
root, e.g. `python -m benchmarks.resnet_forward --quick`."""
