"""Google Speech Commands (v2 layout, official validation and test lists)."""

from __future__ import annotations

import os

from keras_attention.audio.datasets.base import AudioClipDataset, _check_root

_SC_LAYOUT = """\
  <root>/<word>/<speaker>_nohash_<n>.wav   one folder per word
  <root>/validation_list.txt               lines like right/abc_nohash_0.wav
  <root>/testing_list.txt
  <root>/_background_noise_/               (ignored)"""

_SUBSETS = ("training", "validation", "testing")


class SpeechCommands(AudioClipDataset):
    """Google Speech Commands (v2 layout): 1 s keyword clips at 16 kHz.

    The splits are the official ones: `validation_list.txt` and
    `testing_list.txt` list the validation and test files, and training is
    every other clip in a word folder. Folders whose name starts with `_`
    (`_background_noise_`) are not classes. Labels index the sorted word
    folders (35 words in v2).

    Reference: Warden, "Speech Commands: A Dataset for Limited-Vocabulary
    Speech Recognition", arXiv 1804.03209.

    Args:
        root: the extracted dataset folder::

              <root>/<word>/*.wav
              <root>/validation_list.txt
              <root>/testing_list.txt

        subset: `"training"`, `"validation"` or `"testing"`.
        sample_rate: resample every file to this rate (Hz; default 16
            kHz, the dataset's rate).
        clip_seconds: length of every example in seconds (the clips' 1 s).
        **kwargs: `batch_size`, `shuffle`, `seed`, `random_crop`,
            `cache_dir`, `strict` and the `keras.utils.PyDataset`
            arguments; see `AudioClipDataset`.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        subset: str = "training",
        *,
        sample_rate: int = 16000,
        clip_seconds: float = 1.0,
        **kwargs,
    ):
        name = type(self).__name__
        if subset not in _SUBSETS:
            raise ValueError(
                f"{name}: Expected `subset` to be one of {list(_SUBSETS)}. "
                f"Received: subset={subset!r}"
            )
        self.root = _check_root(root, _SC_LAYOUT, name)
        self.subset = subset
        lists = {}
        for split in ("validation", "testing"):
            path = os.path.join(self.root, f"{split}_list.txt")
            if not os.path.isfile(path):
                raise FileNotFoundError(
                    f"{name}: split list not found: {path}. Expected "
                    f"layout:\n{_SC_LAYOUT}"
                )
            with open(path, encoding="utf-8") as handle:
                lists[split] = [
                    line.strip().replace("\\", "/")
                    for line in handle
                    if line.strip()
                ]
        class_names = sorted(
            entry
            for entry in os.listdir(self.root)
            if os.path.isdir(os.path.join(self.root, entry))
            and not entry.startswith(("_", "."))
        )
        if not class_names:
            raise ValueError(
                f"{name}: no word folders in {self.root}. Expected layout:\n"
                f"{_SC_LAYOUT}"
            )
        label_of = {word: i for i, word in enumerate(class_names)}
        if subset == "training":
            held_out = set(lists["validation"]) | set(lists["testing"])
            relative = []
            for word in class_names:
                for entry in sorted(os.listdir(os.path.join(self.root, word))):
                    if entry.lower().endswith(".wav"):
                        rel = f"{word}/{entry}"
                        if rel not in held_out:
                            relative.append(rel)
        else:
            relative = lists[subset]
        labels = []
        for rel in relative:
            word = rel.split("/", 1)[0]
            if word not in label_of:
                raise ValueError(
                    f"{name}: {subset}_list.txt names {rel!r}, whose folder "
                    f"{word!r} is not a word folder of {self.root}."
                )
            labels.append(label_of[word])
        files = [os.path.join(self.root, *rel.split("/")) for rel in relative]
        super().__init__(
            files,
            labels,
            class_names,
            sample_rate=sample_rate,
            clip_seconds=clip_seconds,
            **kwargs,
        )
