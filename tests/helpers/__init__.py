"""Helpers shared by several test modules (imported as `helpers.<name>`;
`tests/` is on `sys.path`). No `test_*.py` module imports another
(`tests/test_import_graph.py`): what two of them share lives here.

- `audio`: fake audio files and the instrument dataset's layout;
- `http`: the loopback HTTP server;
- `layer_checks`: generic checks for a Keras layer;
- `published`: the model cards published under `zoo/`;
- `recipe_callbacks`: callbacks that interrupt and observe a recipe run;
- `registry`: `stand_in`, a small backbone in place of a registered one;
- `system`: guards for what the tests need from the system;
- `training`: the recipes' model stand-ins, fake image datasets and
  parsed arguments;
- `zoo`: what the zoo tests look at on disk.
"""
