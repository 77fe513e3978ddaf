"""magcnn.train and magcnn.Model against magcnn-train and magcnn-infer: the same code, the same numbers."""

import pathlib

import h5py
import numpy as np
import pytest

import magcnn
from conftest import GEOMETRY, run_program


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The same small run made by the program and by the module."""
    tmp = tmp_path_factory.mktemp("runs")
    config = tmp / "small.toml"
    config.write_text("[data]\ncount = 240\n\n[training]\nepochs = 2\ntarget_loss = 0.0\n")
    run_program("magcnn-train", "--config", config, "--out", tmp / "program", "--seed", 11)
    events = []
    result = magcnn.train(str(config), out=str(tmp / "module"), seed=11, device="cpu", progress=events.append, quiet=True)
    return tmp, config, result, events


def test_training_gives_the_programs_numbers(trained):
    tmp, _, result, events = trained
    assert result["models"] == [str(tmp / "module" / "model.h5")]
    assert result["reached"] is False and len(result["last_epoch"]) == 1
    program = magcnn.Model.load(str(tmp / "program"))
    module = magcnn.Model.load(result["models"][0])
    assert module.epochs == program.epochs == 2
    for a, b in zip(module.history, program.history):
        assert a["train_mse"] == b["train_mse"] and a["validation_mse"] == b["validation_mse"]
    with h5py.File(tmp / "program" / "model.h5", "r") as p, h5py.File(tmp / "module" / "model.h5", "r") as m:
        names = []
        p.visit(lambda n: names.append(n) if isinstance(p[n], h5py.Dataset) and (n.startswith("weights") or n.startswith("optimizer")) else None)
        assert names
        for n in names:
            np.testing.assert_array_equal(p[n][...], m[n][...], err_msg=n)
    epochs = [e for e in events if e["kind"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert epochs[-1]["validation_mse"] == module.validation_mse
    steps = [e for e in events if e["kind"] == "step"]
    assert steps and steps[-1]["step"] == steps[-1]["steps"]


def test_prediction_gives_the_programs_numbers(trained, tmp_path, rng):
    tmp, config, result, _ = trained
    model = magcnn.Model.load(result["models"][0])
    assert model.target == "shape" and model.channels == 1 and model.trained_shape == (32, 32)
    # Fields in tesla of random films, on a grid finer than the model's (resampled).
    sample = magcnn.Generator(count=3, seed=int(rng.integers(0, 2**31)), device="cpu").next(3)
    h = GEOMETRY["standoff_m"] / 2
    geometry = magcnn.Geometry(pixel_size_m=h, standoff_m=GEOMETRY["standoff_m"], thickness_m=GEOMETRY["standoff_m"] / 10,
                               Ms_A_per_m=GEOMETRY["Ms_A_per_m"])
    m = np.kron(sample["m"], np.ones((1, 2, 2)))
    d = np.stack([np.sin(sample["theta"]) * np.cos(sample["phi"]), np.sin(sample["theta"]) * np.sin(sample["phi"]),
                  np.cos(sample["theta"])], axis=1)
    mx, my, mz = (m * d[:, c, None, None] for c in range(3))
    bz = magcnn.forward(mx, my, mz, pixel_size_m=h, standoff_m=geometry.standoff_m, thickness_m=geometry.thickness_m,
                        Ms_A_per_m=geometry.Ms_A_per_m, device="cpu").astype(np.float32)
    np.save(tmp_path / "bz.npy", bz)
    run_program("magcnn-infer", "--model", result["models"][0], "--in", tmp_path / "bz.npy", "--unit", "T", "--out",
                tmp_path / "p.h5", "--pixel-size", h, "--standoff", geometry.standoff_m, "--thickness", geometry.thickness_m,
                "--Ms", geometry.Ms_A_per_m)
    predicted = model.predict(bz, geometry=geometry, device="cpu")
    with h5py.File(tmp_path / "p.h5", "r") as f:
        np.testing.assert_array_equal(predicted["m"], f["m"][...])
        np.testing.assert_array_equal(predicted["residual_relative_l2"], f["residual_relative_l2"][...])
        np.testing.assert_array_equal(predicted["residual_direction_fitted"], f["residual_direction_fitted"][...].astype(bool))
    assert predicted["m"].shape == bz.shape and predicted["m"].dtype == np.float32
    assert np.all(predicted["residual_direction_fitted"])
    # Known directions are used as given.
    known = model.predict(bz, geometry=geometry, directions=d, device="cpu")
    assert not np.any(known["residual_direction_fitted"])
    np.testing.assert_allclose(known["residual_theta_rad"], sample["theta"], atol=1e-9)
    # One map: one map back; gauss is tesla x 1e4.
    one = model.predict(bz[0] * 1e4, geometry=geometry, unit="G", device="cpu")
    np.testing.assert_allclose(one["m"], predicted["m"][0], atol=1e-6)
    no_residual = model.predict(bz, geometry=geometry, residual=False, device="cpu")
    assert "residual_relative_l2" not in no_residual
    np.testing.assert_array_equal(no_residual["m"], predicted["m"])


def test_normalized_maps_and_the_refusals(trained):
    _, _, result, _ = trained
    model = magcnn.Model.load(result["models"][0])
    sample = magcnn.Generator(count=2, seed=5, device="cpu").next(2)
    p = model.predict(sample["Bz"], unit="normalized", device="cpu")
    assert p["m"].shape == (2, 32, 32) and np.isfinite(p["m"]).all()
    with pytest.raises(ValueError, match=r"geometry= does not apply"):
        model.predict(sample["Bz"], unit="normalized", geometry=magcnn.Geometry(**GEOMETRY))
    with pytest.raises(ValueError, match=r"geometry=magcnn.Geometry"):
        model.predict(sample["Bz"])
    with pytest.raises(ValueError, match=r"directions: 2 unit vectors"):
        model.predict(sample["Bz"], unit="normalized", directions=np.ones((3, 3)))
    bad = sample["Bz"].copy()
    bad[1, 2, 3] = np.inf
    with pytest.raises(ValueError, match=r"field is inf at map 1, row 2, column 3"):
        model.predict(bad, unit="normalized")
    with pytest.raises(ValueError, match=r"tile=6"):
        model.predict(sample["Bz"], unit="normalized", tile=6)


def test_resume_and_refusals(trained):
    tmp, config, result, _ = trained
    with pytest.raises(ValueError, match=r"already holds a run .*: pass resume=True to continue it, or choose another out="):
        magcnn.train(str(config), out=str(tmp / "module"), quiet=True)
    with pytest.raises(ValueError, match=r"batch_size= cannot change a run being resumed"):
        magcnn.train(str(config), out=str(tmp / "module"), resume=True, batch_size=8, quiet=True)
    again = magcnn.train(str(config), out=str(tmp / "module"), resume=True, epochs=3, device="cpu", quiet=True)
    assert again["last_epoch"][0]["epoch"] == 3
    run_program("magcnn-train", "--config", config, "--out", tmp / "program", "--resume", "--epochs", 3)
    a = magcnn.Model.load(str(tmp / "module")).history[-1]
    b = magcnn.Model.load(str(tmp / "program")).history[-1]
    assert a["validation_mse"] == b["validation_mse"]
