"""The built wheel stands on its own: installed into a fresh virtualenv
outside the repository (its dependencies seen from this environment, this
checkout not), it lists the published presets from its own data, downloads
them from a loopback server laid out as `zoo/` (every file checked against
the sha256 in the package), loads, predicts and fine-tunes with no network
after the first fetch; offline it raises one error saying how to get the
weights, and a tampered file fails its sha256."""

from __future__ import annotations

import json
import shutil
import site
import subprocess
import sys
import venv
import zipfile

from helpers.fresh import ROOT, run_python
from helpers.http import serve, serve_folder

MODEL = "cbam_resnet18"
PRESET = ROOT / "zoo" / MODEL / "fashion_mnist"


def _build_wheel(tmp_path):
    """The wheel of a copy of the sources (the checkout gets no build/)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "keras_attention",
        src / "keras_attention",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps",
         "--no-build-isolation", "-q", "-w", str(tmp_path / "dist"),
         str(src)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("keras_attention_zoo-*.whl")
    return wheel


def _fresh_venv(tmp_path, wheel):
    """A virtualenv holding the wheel; this environment's site-packages
    come after it through a `.pth` file, whose own `.pth` files (this
    checkout's editable finder) are not run."""
    env = tmp_path / "venv"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    purelib = run_python(
        "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        tmp_path,
        python=str(python),
        path=None,
    ).stdout.strip()
    deps = [p for p in site.getsitepackages() if p != purelib]
    with open(f"{purelib}/zz_test_deps.pth", "w") as f:
        f.write("\n".join(deps) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install",
         "--no-deps", "--no-index", "-q", str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    return env


def test_wheel_in_a_fresh_venv_downloads_checks_and_caches(tmp_path, server):
    wheel = _build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    assert "keras_attention/zoo/data/presets.json" in names
    assert "keras_attention/data/samples/fashion_mnist_sample.npz" in names
    assert "keras_attention/data/samples/instruments/demo_clips.csv" in names
    assert not any(n.endswith(".weights.h5") for n in names)
    env = _fresh_venv(tmp_path, wheel)
    serve_folder(server, ROOT / "zoo" / MODEL, f"/zoo/{MODEL}")
    # A copy whose small head file was tampered with.
    serve_folder(server, ROOT / "zoo" / MODEL, f"/bad/{MODEL}")
    tampered = bytearray((PRESET / "task.weights.h5").read_bytes())
    tampered[-1] ^= 0xFF
    server.routes[f"/bad/{MODEL}/fashion_mnist/task.weights.h5"] = serve(
        bytes(tampered)
    )
    work = tmp_path / "work"
    work.mkdir()
    env_vars = {
        "KERAS_ATTENTION_WEIGHTS_URL": server.url("/zoo"),
        "KERAS_ATTENTION_CACHE": str(tmp_path / "cache"),
    }
    download = subprocess.run(
        [str(env / "bin" / "keras-attention"), "download", MODEL],
        cwd=work, env={**_clean_env(), **env_vars},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert download.returncode == 0, download.stderr
    assert len(download.stdout.splitlines()) == len(list(PRESET.iterdir())), (
        download.stdout
    )
    fetched = dict(server.hits)
    out = run_python(
        f"""
        import json, os, numpy as np
        import keras_attention
        from keras_attention import zoo
        result = {{"file": keras_attention.__file__,
                   "zoo_dir": zoo.zoo_dir(),
                   "pretrained": zoo.list_models(pretrained=True)}}
        model = zoo.load({MODEL!r})  # from the cache, no request
        x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3))
        result["predict"] = list(model.predict(x, verbose=0).shape)
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        history = model.fit(x, np.arange(4) % 10, epochs=1, batch_size=4,
                            verbose=0)
        result["loss"] = float(history.history["loss"][0])
        os.environ["KERAS_ATTENTION_CACHE"] = {str(tmp_path / "c2")!r}
        for url, key in (("", "offline"), ({server.url("/bad")!r}, "bad")):
            os.environ["KERAS_ATTENTION_WEIGHTS_URL"] = url
            try:
                zoo.load({MODEL!r})
            except Exception as error:
                result[key] = [type(error).__name__, str(error)]
        print(json.dumps(result))
        """,
        work,
        env=env_vars,
        python=str(env / "bin" / "python"),
        path=None,
    )
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["file"].startswith(str(env))
    assert result["zoo_dir"] is None
    assert MODEL in result["pretrained"]
    assert result["predict"] == [4, 10]
    assert result["loss"] > 0
    # After `download`, loading made no request to the /zoo routes.
    assert {k: v for k, v in server.hits.items() if k.startswith("/zoo")} == (
        fetched
    )
    kind, message = result["offline"]
    assert kind == "WeightsUnavailableError"
    assert f"keras-attention download {MODEL}" in message
    kind, message = result["bad"]
    assert kind == "WeightsIntegrityError"
    assert "task.weights.h5" in message and "sha256" in message


def _clean_env():
    import os

    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def test_the_packaged_presets_index_is_what_zoo_holds():
    import importlib.util

    from keras_attention.zoo import locations

    spec = importlib.util.spec_from_file_location(
        "make_presets_index", ROOT / "tools" / "make_presets_index.py"
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert locations.read_presets() == tool.presets_index(ROOT / "zoo")
    assert tool.main(["--check"]) == 0
