"""The benchmark commands run and report consistent numbers.

Tiny inputs and a single timed round: this checks that the scripts work
on every backend (and across backends through a subprocess), not the
speed itself, which only the scripts measure.
"""

from __future__ import annotations

import importlib
import json
import math

import keras
import pytest


def _load(name: str):
    return importlib.import_module(f"benchmarks.{name}")


def _check_ratios(rows, key, baseline_key, baseline):
    by_name = {r[key]: r for r in rows}
    assert by_name[baseline][baseline_key] == pytest.approx(1.0)
    for row in rows:
        assert row["ms"] > 0 and row["cpu_ms"] >= 0
        assert row[baseline_key] > 0
        assert len(row["samples_ms"]) == 1


def test_layer_overhead(tmp_path, capsys):
    bench = _load("layer_overhead")
    out = tmp_path / "layers.json"
    args = "--batch 1 --size 8 --channels 16 --warmup 0 --repeats 1"
    bench.main([*args.split(), "--layers", "ECA", "CBAM", "--json", str(out)])
    data = json.loads(out.read_text())
    (report,) = data["reports"]
    assert report["backend"] == keras.backend.backend()
    assert report["input_shape"] == [1, 8, 8, 16]
    rows = report["results"]
    assert [r["layer"] for r in rows] == ["none", "ECA", "CBAM"]
    _check_ratios(rows, "layer", "ratio", "none")
    by_layer = {r["layer"]: r for r in rows}
    assert by_layer["none"]["params_added"] == 0
    assert by_layer["ECA"]["params_added"] == 3  # k = 3 for 16 channels
    assert data["command"] == report["command"]
    assert data["command"].startswith(
        f"KERAS_BACKEND={keras.backend.backend()}"
    )
    assert "| ECA |" in capsys.readouterr().out


def test_audio_forward(tmp_path, capsys):
    bench = _load("resnet_forward")
    out = tmp_path / "audio.json"
    bench.main(
        [
            "--task=audio",
            "--models",
            "cnn10",
            "eca_cnn10",
            "--batch-sizes",
            "1",
            "--warmup=0",
            "--repeats=1",
            "--no-jit",
            f"--json={out}",
        ]
    )
    (report,) = json.loads(out.read_text())["reports"]
    assert report["baseline"] == "cnn10" and report["input_shape"] == [16000]
    rows = report["results"]
    _check_ratios(rows, "model", "ratio_to_baseline", "cnn10")
    by_model = {r["model"]: r for r in rows}
    # ECA adds a few 1-D conv weights and no measurable MACs.
    assert (
        0 < by_model["eca_cnn10"]["params"] - by_model["cnn10"]["params"] < 100
    )
    assert by_model["cnn10"]["macs"] == pytest.approx(1.29e9, rel=0.01)
    assert "| eca_cnn10 |" in capsys.readouterr().out


def test_other_backend_runs_in_a_subprocess(tmp_path):
    bench = _load("layer_overhead")
    other = next(
        b
        for b in ("torch", "jax", "tensorflow")
        if b != keras.backend.backend()
    )
    out = tmp_path / "layers.json"
    args = "--batch 1 --size 8 --channels 8 --warmup 0 --repeats 1 --no-jit"
    bench.main(
        [*args.split(), "--layers", "SqueezeExcite"]
        + [f"--backend={other}", f"--json={out}"]
    )
    (report,) = json.loads(out.read_text())["reports"]
    assert report["backend"] == other
    assert report["command"].startswith(f"KERAS_BACKEND={other} python ")
    assert "--backend" not in report["command"]


def test_bad_arguments_name_the_choices(capsys):
    bench = _load("resnet_forward")
    with pytest.raises(SystemExit):
        bench.main(["--task=audio", "--models", "resnet50"])
    assert "--task audio times only cnn10" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(["--task=audio", "--models", "se_cnn10"])
    assert "--models must include cnn10" in capsys.readouterr().err


def test_train_step(tmp_path, capsys):
    bench = _load("train_step")
    out = tmp_path / "steps.json"
    args = "--models resnet18 --image-sizes 40 32 --batch 2 --warmup 0"
    args += " --dtype-policies float32 mixed_bfloat16"
    bench.main([*args.split(), "--repeats=1", "--no-jit", f"--json={out}"])
    (report,) = json.loads(out.read_text())["reports"]
    rows = {(r["image_size"], r["dtype_policy"]): r for r in report["results"]}
    assert sorted(rows) == [
        (32, "float32"),
        (32, "mixed_bfloat16"),
        (40, "float32"),
        (40, "mixed_bfloat16"),
    ]
    for (size, policy), row in rows.items():
        assert row["s_per_step"] > 0
        assert row["epoch_seconds"] == pytest.approx(
            55_000 / 2 * row["s_per_step"]
        )
        assert row["ratio_to_first_size"] == pytest.approx(
            row["s_per_step"] / rows[(40, policy)]["s_per_step"]
        )
        assert row["ratio_to_first_policy"] == pytest.approx(
            row["s_per_step"] / rows[(size, "float32")]["s_per_step"]
        )
    assert "--dtype-policies float32 mixed_bfloat16" in report["command"]
    assert "| resnet18 | 32 | mixed_bfloat16 | 2 |" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        bench.main(["--image-sizes", "16"])
    assert "--image-sizes must be >= 32" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(["--dtype-policies", "bfloat16"])
    assert "invalid choice: 'bfloat16'" in capsys.readouterr().err


def test_tiny_conv(tmp_path, capsys):
    bench = _load("tiny_conv")
    out = tmp_path / "tiny.json"
    args = "--batch 2 --size 2 --channels 8 --warmup 0 --repeats 1"
    bench.main([*args.split(), "--json", str(out)])
    (report,) = json.loads(out.read_text())["reports"]
    assert report["backend"] == keras.backend.backend()
    assert [r["conv"] for r in report["results"]] == ["keras", "ours"]
    _check_ratios(report["results"], "conv", "ratio", "keras")
    assert all(r["step_ms"] > 0 for r in report["results"])
    assert "| ours |" in capsys.readouterr().out


def test_peer_parity(tmp_path, capsys):
    bench = _load("peer_parity")
    out = tmp_path / "parity.json"
    args = ["--models", "torchvision.resnet18", "--size", "64", "--batch", "1"]
    bench.main([*args, "--json", str(out)])
    (report,) = json.loads(out.read_text())["reports"]
    assert report["backend"] == keras.backend.backend()
    (row,) = report["results"]
    assert row["model"] == "resnet18" and row["max_rel_diff"] < 1e-4
    assert "| torchvision.resnet18 | resnet18 |" in capsys.readouterr().out


def test_peers_against_timm(tmp_path, capsys):
    bench = _load("peers")
    out = tmp_path / "peers.json"
    args = "--image-size 32 --batch-sizes 1 --train-batch 2 --warmup 0"
    args += " --repeats 1 --no-jit --models resnet50 cbam_resnet50 timm"
    bench.main([*args.split(), f"--json={out}"])
    data = json.loads(out.read_text())
    (report,) = data["reports"]
    backend = keras.backend.backend()
    assert report["backend"] == backend and report["image_size"] == 32
    rows = report["results"]
    cases = {(r["model"], r["mode"], r["batch"]) for r in rows}
    assert cases == {
        (m, mode, b)
        for m in ("resnet50", "cbam_resnet50", "timm")
        for mode, b in (("predict", 1), ("train", 2))
    }
    for mode in ("predict", "train"):
        group = [r for r in rows if r["mode"] == mode]
        _check_ratios(group, "model", "ratio_to_resnet50", "resnet50")
        _check_ratios(group, "model", "ratio_to_timm", "timm")
    backends = {r["model"]: r["backend"] for r in rows}
    assert backends == {
        "resnet50": backend,
        "cbam_resnet50": backend,
        "timm": "timm",
    }
    assert data["command"].startswith(f"KERAS_BACKEND={backend}")
    text = capsys.readouterr().out
    assert f"| {backend} | train | 2 |" in text
    with pytest.raises(SystemExit):
        bench.main(["--image-size", "16"])
    assert "--image-size must be >= 32" in capsys.readouterr().err


def test_scaling_reports_each_case_and_its_growth(tmp_path, capsys):
    bench = _load("scaling")
    out, png = tmp_path / "scaling.json", tmp_path / "scaling.png"
    bench.main(
        "--seconds 1 2 --image-sizes 32 64 --commands predict".split()
        + [f"--json={out}", f"--plot={png}"]
    )
    (report,) = json.loads(out.read_text())["reports"]
    rows = report["results"]
    assert [(r["kind"], r["size"]) for r in rows] == [
        ("audio", 1),
        ("audio", 2),
        ("image", 32),
        ("image", 64),
    ]
    for row in rows:
        assert row["seconds"] > 0 and row["peak_rss_mib"] > 0
        assert row["peak_rss_mib"] >= row["rss_before_mib"] - 1
    for summary in report["summary"]:
        (ratio,) = summary["time_ratio_per_doubling"]
        a, b = (r for r in rows if r["kind"] == summary["kind"])
        doublings = math.log2(b["input_units"] / a["input_units"])
        expected = (b["seconds"] / a["seconds"]) ** (1 / doublings)
        assert ratio == pytest.approx(expected)
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "| audio (cnn6) | predict | 2 s |" in capsys.readouterr().out


def test_doubling_ratio_is_two_for_linear_cost():
    bench = _load("scaling")
    rows = [{"input_units": n, "seconds": 0.05 + 0.1 * n} for n in (1, 10, 100)]
    rows += [{"input_units": 1000, "seconds": 0.05 + 100.0}]
    ratios = bench.doubling_ratios(rows)
    assert ratios[-1] == pytest.approx(2.0, rel=0.01)
    assert bench.loglog_slope(rows) == pytest.approx(1.0, abs=0.05)
