"""magcnn.forward and magcnn.ForwardModel against magcnn-forward, and their handling of arrays."""

import h5py
import numpy as np
import pytest

import magcnn
from conftest import GEOMETRY, random_magnetization, run_program


def write_magnetization(path, mx, my, mz):
    with h5py.File(path, "w") as f:
        for name, values in (("mx", mx), ("my", my), ("mz", mz)):
            f[name] = values
        for key, value in GEOMETRY.items():
            f.attrs[key] = value


@pytest.mark.parametrize("component", ["z", "nv"])
def test_equals_the_program_bit_for_bit(tmp_path, rng, component):
    mx, my, mz = random_magnetization(rng, (3, 24, 40))
    write_magnetization(tmp_path / "m.h5", mx, my, mz)
    extra = ["--component", "nv", "--nv-axis", "54.7356,45"] if component == "nv" else []
    run_program("magcnn-forward", "--in", tmp_path / "m.h5", "--out", tmp_path / "b.h5", *extra)
    with h5py.File(tmp_path / "b.h5", "r") as f:
        written = f["Bnv" if component == "nv" else "Bz"][...]
    axis = "54.7356,45" if component == "nv" else "z"
    computed = magcnn.forward(mx, my, mz, **GEOMETRY, field_axis=axis, device="cpu")
    assert computed.dtype == np.float64 and computed.shape == (3, 24, 40)
    # The program stores the double-precision result as float32.
    np.testing.assert_array_equal(computed.astype(np.float32), written)
    assert np.abs(computed).max() > 1e-6  # a real field, not zeros


def test_one_map_in_one_map_out(rng):
    mx, my, mz = random_magnetization(rng, (16, 16))
    single = magcnn.forward(mx, my, mz, **GEOMETRY, device="cpu")
    batched = magcnn.forward(mx[None], my[None], mz[None], **GEOMETRY, device="cpu")
    assert single.shape == (16, 16) and batched.shape == (1, 16, 16)
    np.testing.assert_array_equal(single, batched[0])


def test_model_is_reusable_and_matches_forward(rng):
    geometry = magcnn.Geometry(**GEOMETRY)
    model = magcnn.ForwardModel((20, 12), geometry, device="cpu", max_batch=2)
    assert model.shape == (20, 12) and model.dtype == "float64" and model.max_batch == 2
    assert model.padded_shape[0] >= 40 and model.padded_shape[1] >= 24
    for _ in range(3):
        m = random_magnetization(rng, (5, 20, 12))
        expected = np.stack([magcnn.forward(m[0][i], m[1][i], m[2][i], **GEOMETRY, device="cpu") for i in range(5)])
        np.testing.assert_allclose(model(*m), expected, rtol=0, atol=1e-12 * np.abs(expected).max())


def test_the_field_above_a_uniform_square_is_the_closed_form():
    # An oracle nobody tuned: on the axis of a cuboid a x b x t (half-sides A, B) magnetized along z,
    # Bz = mu0 Ms / pi [atan(A B / (z1 R1)) - atan(A B / (z2 R2))], z1 and z2 the distances to its top and
    # bottom faces, R = sqrt(A^2 + B^2 + z^2).
    n, side = 63, 47  # the square's centre is pixel (31, 31)
    first = (n - side) // 2
    mz = np.zeros((n, n))
    mz[first:first + side, first:first + side] = 1
    bz = magcnn.forward(np.zeros_like(mz), np.zeros_like(mz), mz, **GEOMETRY, device="cpu")
    g = GEOMETRY
    A = B = side * g["pixel_size_m"] / 2
    z1, z2 = g["standoff_m"], g["standoff_m"] + g["thickness_m"]
    term = lambda z: np.arctan(A * B / (z * np.sqrt(A * A + B * B + z * z)))
    expected = 4e-7 * g["Ms_A_per_m"] * (term(z1) - term(z2))
    assert bz[31, 31] == pytest.approx(expected, rel=1e-9)


def test_arrays_of_other_types_and_layouts_give_the_same_field(rng):
    mx, my, mz = random_magnetization(rng, (2, 16, 24))
    reference = magcnn.forward(mx, my, mz, **GEOMETRY, device="cpu")
    model = magcnn.ForwardModel((16, 24), magcnn.Geometry(**GEOMETRY), device="cpu", max_batch=2)
    assert model.reads_in_place(mx)
    # Fortran order, a reversed view, a slice of a larger array: converted once, same result.
    fortran = [np.asfortranarray(a) for a in (mx, my, mz)]
    assert not model.reads_in_place(fortran[0])
    np.testing.assert_array_equal(model(*fortran), reference)
    big = [np.zeros((2, 16, 48)) for _ in range(3)]
    for b, a in zip(big, (mx, my, mz)):
        b[:, :, ::2] = a
    strided = [b[:, :, ::2] for b in big]
    assert not model.reads_in_place(strided[0])
    np.testing.assert_array_equal(model(*strided), reference)
    # Read-only arrays are read in place too.
    readonly = [a.copy() for a in (mx, my, mz)]
    for a in readonly:
        a.flags.writeable = False
    assert model.reads_in_place(readonly[0])
    np.testing.assert_array_equal(model(*readonly), reference)
    # float32 is converted to double: the same as converting first.
    f32 = [a.astype(np.float32) for a in (mx, my, mz)]
    np.testing.assert_array_equal(model(*f32), model(*[a.astype(np.float64) for a in f32]))
    # Integers (a binary mask) and nested lists.
    ints = np.zeros((2, 16, 24), dtype=np.int16)
    ints[:, 4:12, 6:18] = 1
    np.testing.assert_array_equal(model(ints * 0, ints * 0, ints), model(ints * 0.0, ints * 0.0, ints * 1.0))
    np.testing.assert_array_equal(
        magcnn.forward(mx[0].tolist(), my[0].tolist(), mz[0].tolist(), **GEOMETRY, device="cpu"), reference[0])


def test_float16_maps_are_checked_with_their_rounding():
    # (0.1, 0.995) stored as float16 has |m| = 1.00013: a unit vector in float16's rounding, accepted as
    # such; the same values as float64 are not a unit magnetization.
    mx = np.full((8, 8), 0.1, dtype=np.float16)
    mz = np.full((8, 8), 0.995, dtype=np.float16)
    assert np.sqrt(float(mx[0, 0]) ** 2 + float(mz[0, 0]) ** 2) > 1.0001
    magcnn.forward(mx, np.zeros_like(mx), mz, **GEOMETRY, device="cpu")
    with pytest.raises(ValueError, match=r"\|m\| = 1.0001266.* at map 0, row 0, column 0 .* float32"):
        magcnn.forward(mx.astype(np.float64), np.zeros((8, 8)), mz.astype(np.float64), **GEOMETRY, device="cpu")


def test_inputs_are_not_changed(rng):
    m = random_magnetization(rng, (2, 16, 16))
    copies = [a.copy() for a in m]
    magcnn.forward(*m, **GEOMETRY, device="cpu")
    for a, b in zip(m, copies):
        np.testing.assert_array_equal(a, b)


def test_units_and_axes(rng):
    m = random_magnetization(rng, (16, 16))
    tesla = magcnn.forward(*m, **GEOMETRY, device="cpu")
    normalized = magcnn.forward(*m, **GEOMETRY, unit="normalized", device="cpu")
    g = GEOMETRY
    np.testing.assert_allclose(normalized, tesla * 2 * g["standoff_m"] / (4e-7 * np.pi * g["Ms_A_per_m"] * g["thickness_m"]), rtol=1e-8)
    bz_as_vector = magcnn.forward(*m, **GEOMETRY, field_axis=(0, 0, 2), device="cpu")
    np.testing.assert_array_equal(bz_as_vector, tesla)
    bx = magcnn.forward(*m, **GEOMETRY, field_axis="x", device="cpu")
    by = magcnn.forward(*m, **GEOMETRY, field_axis="y", device="cpu")
    u = np.array([1.0, 2.0, -0.5]) / np.linalg.norm([1.0, 2.0, -0.5])
    along = magcnn.forward(*m, **GEOMETRY, field_axis=tuple(u), device="cpu")
    np.testing.assert_allclose(along, u[0] * bx + u[1] * by + u[2] * tesla, atol=1e-9 * np.abs(tesla).max())


def test_agrees_with_magpylib_where_it_is_installed(rng):
    # An independent implementation of the same physics: the field of uniformly magnetized cuboids.
    magpylib = pytest.importorskip("magpylib")
    n = 10
    mx, my, mz = random_magnetization(rng, (n, n))
    g = GEOMETRY
    h, d, t, Ms = g["pixel_size_m"], g["standoff_m"], g["thickness_m"], g["Ms_A_per_m"]
    magnets = [magpylib.magnet.Cuboid(dimension=(h, h, t), position=(j * h, i * h, -t / 2),
                                      magnetization=(Ms * mx[i, j], Ms * my[i, j], Ms * mz[i, j]))
               for i in range(n) for j in range(n) if mx[i, j] or my[i, j] or mz[i, j]]
    yy, xx = np.mgrid[0:n, 0:n] * h
    observers = np.stack([xx.ravel(), yy.ravel(), np.full(n * n, d)], axis=1)
    # magpylib's vacuum permeability (CODATA 2022) differs from the engine's (2018) by 7e-10.
    expected = magpylib.Collection(*magnets).getB(observers)[:, 2].reshape(n, n) * magcnn.MU0 / magpylib.mu_0
    computed = magcnn.forward(mx, my, mz, **GEOMETRY, device="cpu")
    assert np.abs(computed - expected).max() < 1e-9 * np.abs(expected).max()
