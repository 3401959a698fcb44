"""`keras-attention demo` from a source checkout: a thin wrapper of the
library's demo, `keras_attention.demo` (see there).

Run: `python -m training.demo [--out DIR] [--epochs N]`.
"""

from __future__ import annotations

import sys

from keras_attention.demo import (  # noqa: F401 (the demo's steps)
    accuracy,
    audio_demo,
    load_sample,
    main,
    split_fine_tune,
)

if __name__ == "__main__":
    sys.exit(main())
