"""Engine errors arrive as Python exceptions with the engine's message: ValueError for what the caller
can fix, RuntimeError otherwise."""

import numpy as np
import pytest

import magcnn
from conftest import GEOMETRY, random_magnetization


def maps(shape=(8, 8)):
    return np.zeros(shape), np.zeros(shape), np.full(shape, 0.5)


def test_the_exception_types():
    assert issubclass(magcnn.InvalidInput, ValueError)
    assert issubclass(magcnn.EngineError, RuntimeError)
    assert not issubclass(magcnn.InvalidInput, RuntimeError)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(pixel_size_m=50.0), r"pixel_size_m=: pixel size = 50 m is outside 1e-12..1 m"),
        (dict(standoff_m=-1e-7), r"standoff_m=.*"),
        (dict(Ms_A_per_m=0.0), r"Ms_A_per_m=.*"),
        (dict(thickness_m=float("nan")), r"thickness_m=.*"),
        (dict(standoff_m=1e-12), r"d/h|standoff"),
    ],
)
def test_geometry_out_of_range(change, message):
    with pytest.raises(magcnn.InvalidInput, match=message):
        magcnn.forward(*maps(), **{**GEOMETRY, **change}, device="cpu")
    with pytest.raises(ValueError, match=message):
        magcnn.Geometry(**{**GEOMETRY, **change})


def test_values_that_are_not_finite_are_located():
    mx, my, mz = maps((2, 8, 8))
    my[1, 3, 5] = np.nan
    with pytest.raises(ValueError, match=r"my is nan at map 1, row 3, column 5"):
        magcnn.forward(mx, my, mz, **GEOMETRY, device="cpu")


def test_shapes_and_types():
    mx, my, mz = maps()
    with pytest.raises(ValueError, match=r"rank 1"):
        magcnn.forward(mx[0], my[0], mz[0], **GEOMETRY, device="cpu")
    with pytest.raises(ValueError, match=r"my: maps of shape \[8, 9\]"):
        magcnn.forward(mx, np.zeros((8, 9)), mz, **GEOMETRY, device="cpu")
    with pytest.raises(ValueError, match=r"empty maps"):
        magcnn.forward(np.zeros((0, 8)), np.zeros((0, 8)), np.zeros((0, 8)), **GEOMETRY, device="cpu")
    with pytest.raises(ValueError, match=r"complex128"):
        magcnn.forward(mx.astype(complex), my, mz, **GEOMETRY, device="cpu")
    with pytest.raises(ValueError, match=r"bool"):
        magcnn.forward(mx > 0, my, mz, **GEOMETRY, device="cpu")
    with pytest.raises(ValueError, match=r"<U"):
        magcnn.forward(np.full((8, 8), "1.0"), my, mz, **GEOMETRY, device="cpu")
    model = magcnn.ForwardModel((8, 8), magcnn.Geometry(**GEOMETRY), device="cpu")
    with pytest.raises(ValueError, match=r"this model takes \[8, 8\]"):
        model(*maps((8, 10)))
    with pytest.raises(ValueError, match=r"shape"):
        magcnn.ForwardModel((8,), magcnn.Geometry(**GEOMETRY))
    with pytest.raises(TypeError):
        magcnn.ForwardModel((8, 8), "not a geometry")


def test_options():
    with pytest.raises(ValueError, match=r"auto.*cpu.*cuda|device"):
        magcnn.forward(*maps(), **GEOMETRY, device="tpu")
    with pytest.raises(ValueError, match=r"method|exact"):
        magcnn.forward(*maps(), **GEOMETRY, method="fast")
    with pytest.raises(ValueError, match=r"axis"):
        magcnn.forward(*maps(), **GEOMETRY, field_axis=(0, 0, 0))
    with pytest.raises(ValueError, match=r"unit="):
        magcnn.forward(*maps(), **GEOMETRY, unit="gauss")
    with pytest.raises(ValueError, match=r"max_batch=0"):
        magcnn.ForwardModel((8, 8), magcnn.Geometry(**GEOMETRY), max_batch=0)


@pytest.mark.skipif(magcnn.cuda_available(), reason="a GPU works here")
def test_a_gpu_asked_for_where_none_works_is_a_runtime_error():
    with pytest.raises(RuntimeError, match=r"device='cuda': no usable GPU .*; use device='cpu' or 'auto'"):
        magcnn.forward(*maps(), **GEOMETRY, device="cuda")


def test_files(tmp_path):
    with pytest.raises(ValueError, match=r"does not exist|cannot|no such"):
        magcnn.Model.load(str(tmp_path / "missing.h5"))
    (tmp_path / "text.h5").write_text("not HDF5")
    with pytest.raises(ValueError, match=r"text.h5"):
        magcnn.Model.load(str(tmp_path / "text.h5"))
    with pytest.raises(ValueError, match=r"folder without model.h5"):
        magcnn.Model.load(str(tmp_path))
    with pytest.raises(ValueError, match=r"unknown data setting 'colour'"):
        magcnn.Generator(colour="red")
    with pytest.raises(ValueError, match=r"count"):
        magcnn.Generator(count=0)
    with pytest.raises(ValueError, match=r"noise_rms="):
        magcnn.Generator(noise_rms=-1.0)
    with pytest.raises(ValueError, match=r"seed="):
        magcnn.Generator(seed=-3)
    with pytest.raises(ValueError, match=r"img_size=2.5: a whole number"):
        magcnn.Generator(img_size=2.5)
    (tmp_path / "bad.toml").write_text("[data]\ncolour = 3\n")
    with pytest.raises(ValueError, match=r"bad.toml:2"):
        magcnn.Generator(str(tmp_path / "bad.toml"))


def test_training_options(tmp_path):
    with pytest.raises(ValueError, match=r"epochs=0: from 1"):
        magcnn.train(out=str(tmp_path / "run"), epochs=0)
    with pytest.raises(ValueError, match=r"resume=True: .* does not exist: nothing to resume"):
        magcnn.train(out=str(tmp_path / "run"), resume=True, quiet=True)
    with pytest.raises(ValueError, match=r"fresh_data= generates new samples every epoch: it cannot be combined with data="):
        (tmp_path / "set.h5").write_text("")
        magcnn.train(out=str(tmp_path / "run"), data=str(tmp_path / "set.h5"), fresh_data=True, quiet=True)
    assert not (tmp_path / "run").exists()  # a refused run leaves nothing behind


def test_wrong_types_are_type_errors_naming_the_argument(tmp_path):
    with pytest.raises(TypeError, match=r"field_axis: expected a name .* got list \['a', 'b', 'c'\]"):
        magcnn.forward(*maps(), **GEOMETRY, field_axis=["a", "b", "c"])
    with pytest.raises(TypeError, match=r"shape: expected \(H, W\)"):
        magcnn.ForwardModel("8x8", magcnn.Geometry(**GEOMETRY))
    with pytest.raises(TypeError, match=r"rmax: expected a number, got str"):
        magcnn.Generator(rmax="five")
    with pytest.raises(TypeError, match=r"target: expected a string, got int"):
        magcnn.Generator(target=3)
    with pytest.raises(TypeError, match=r"epochs: expected a whole number, got str"):
        magcnn.train(out=str(tmp_path / "run"), epochs="ten")
    with pytest.raises(ValueError, match=r"seed=.*2\^64 - 1"):
        magcnn.train(out=str(tmp_path / "run"), seed=2**64)
    assert not (tmp_path / "run").exists()


def test_threads_sharing_one_model_get_the_right_fields(rng):
    import threading

    model = magcnn.ForwardModel((32, 32), magcnn.Geometry(**GEOMETRY), device="cpu", max_batch=4)
    inputs = [random_magnetization(rng, (12, 32, 32)) for _ in range(4)]
    expected = [model(*m) for m in inputs]
    results = [None] * 4
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, model(*inputs[i]))) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)
