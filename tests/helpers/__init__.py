"""Helpers shared by several test modules (imported as `helpers.<name>`;
`tests/` is on `sys.path`)."""
