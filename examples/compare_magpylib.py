#!/usr/bin/env python3
"""magcnn's exact forward model beside magpylib's cuboid magnets, on the same magnetization map.

What it shows: magcnn's "exact" forward model treats every pixel as a uniformly magnetized cuboid, so
on any map it must give the same Bz as magpylib (https://magpylib.readthedocs.io) summing one
magpylib.magnet.Cuboid per magnetized pixel, to rounding. The script builds a random-ish map (a disk of
pixels, each with its own direction and an amplitude |m| in [0.5, 1], fixed NumPy seed), computes Bz at
the pixel centres a standoff d above the film's top surface with both, prints their largest difference
relative to the largest field, and times them. A plain NumPy FFT of the thin-film transfer function
(the "spectral" approximation most NV-magnetometry tools use, not exact: it treats the map as
band-limited rather than as cuboids) is timed beside them, with its own error.

Geometry (DESIGN.md section 1): the film occupies z in [-t, 0], the sensor plane is z = d; map row i,
column j is the pixel centred at (x, y) = (j h, i h) (magcnn's maps are [H, W] = [y, x]); m is the unit
magnetization M/Ms, so magpylib's magnetization is m * Ms in A/m; both give tesla.

Run it from the repository root, after `bash scripts/setup.sh test` (which builds build/python):

    PYTHONPATH=build/python python3 examples/compare_magpylib.py [--size 24] [--repeat 5]
        [--standoff-px 1] [--device auto|cpu|cuda]

or with `python3 examples/compare_magpylib.py` once magcnn is installed (`pip install .`). It needs
magpylib 5 or newer (`pip install magpylib`). The exit status is 1 when the two disagree beyond the
tolerance of magcnn's arithmetic (1e-6 in double on the CPU, 1e-5 in float on a GPU).
"""

import argparse
import sys
import time

import numpy as np

MU0 = 4e-7 * np.pi


def random_disk_map(size, seed=12345):
    """mx, my, mz [size, size]: a centred disk of pixels, each with a random direction and |m| in [0.5, 1]."""
    rng = np.random.default_rng(seed)
    c = (size - 1) / 2.0
    i, j = np.mgrid[0:size, 0:size]
    inside = (i - c) ** 2 + (j - c) ** 2 <= (0.42 * size) ** 2
    cos_theta = rng.uniform(-1.0, 1.0, (size, size))
    phi = rng.uniform(0.0, 2.0 * np.pi, (size, size))
    amplitude = rng.uniform(0.5, 1.0, (size, size)) * inside
    sin_theta = np.sqrt(1.0 - cos_theta**2)
    return (amplitude * sin_theta * np.cos(phi), amplitude * sin_theta * np.sin(phi), amplitude * cos_theta)


def best_time(fn, repeat):
    """(result, the shortest of `repeat` wall-clock times in seconds)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return result, best


class SpectralNumpy:
    """The thin-film transfer function on a zero-padded (2H, 2W) grid, in NumPy (the spectral approximation):
    Bz(k) = (mu0 Ms / 2) e^{-kd} (1 - e^{-kt}) [mz(k) - i (k . m(k)) / k], FFTs e^{-i k.r} as numpy.fft's."""

    def __init__(self, shape, h, d, t, Ms, mu0):
        self.shape = shape
        P, Q = 2 * shape[0], 2 * shape[1]
        ky = 2.0 * np.pi * np.fft.fftfreq(P, h)[:, None]
        kx = 2.0 * np.pi * np.fft.rfftfreq(Q, h)[None, :]
        k = np.hypot(kx, ky)
        with np.errstate(invalid="ignore", divide="ignore"):
            ux, uy = np.where(k > 0, kx / k, 0.0), np.where(k > 0, ky / k, 0.0)
        # the odd (imaginary) factors have no Nyquist component on an even grid
        ux[:, -1] = 0.0
        uy[P // 2, :] = 0.0
        self.gain = 0.5 * mu0 * Ms * np.exp(-k * d) * -np.expm1(-k * t)
        self.ux, self.uy, self.padded = ux, uy, (P, Q)

    def __call__(self, mx, my, mz):
        f = [np.fft.rfft2(c, s=self.padded) for c in (mx, my, mz)]
        spectrum = self.gain * (f[2] - 1j * (self.ux * f[0] + self.uy * f[1]))
        return np.fft.irfft2(spectrum, s=self.padded)[: self.shape[0], : self.shape[1]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=24, help="map side N in pixels (default 24)")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls of each; the best is shown (default 5)")
    parser.add_argument("--standoff-px", type=float, default=1.0,
                        help="standoff d in pixels (default 1: where the spectral approximation is poor)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="magcnn's device")
    args = parser.parse_args()
    if not 2 <= args.size <= 256:
        parser.error(f"--size {args.size}: give 2 to 256 (magpylib's cost grows as N^4)")
    if args.repeat < 1:
        parser.error(f"--repeat {args.repeat}: give at least 1")
    if not 0.01 <= args.standoff_px <= 100:
        parser.error(f"--standoff-px {args.standoff_px}: give 0.01 to 100")

    try:
        import magpylib
    except ImportError:
        print("magpylib is not installed: `pip install magpylib` (5 or newer, SI units), then run this again.")
        return 0
    if int(magpylib.__version__.split(".")[0]) < 5:
        print(f"magpylib {magpylib.__version__} is too old (this script uses SI units, magpylib 5 or newer): "
              "`pip install -U magpylib`.")
        return 0
    try:
        import magcnn
    except ImportError as exc:
        sys.exit(f"error: cannot import magcnn ({exc}). Build it with `bash scripts/setup.sh test` and run with "
                 "PYTHONPATH=build/python from the repository root, or install it with `pip install .`.")

    n = args.size
    h = 10e-9                 # pixel size (m)
    d = args.standoff_px * h  # standoff above the film's top surface
    t = 1e-9                  # thickness: the film is z in [-t, 0]
    Ms = 8e5                  # A/m (permalloy)
    mx, my, mz = random_disk_map(n)
    film = np.sqrt(mx**2 + my**2 + mz**2) > 0
    print(f"map: {n} x {n} pixels, {int(film.sum())} magnetized (a disk, random directions, |m| in [0.5, 1], seed 12345)")
    print(f"geometry: h = {h:g} m, d = {d:g} m ({args.standoff_px:g} h) above the top surface, t = {t:g} m, Ms = {Ms:g} A/m")

    try:
        geometry = magcnn.Geometry(pixel_size_m=h, standoff_m=d, thickness_m=t, Ms_A_per_m=Ms)
        start = time.perf_counter()
        model = magcnn.ForwardModel((n, n), geometry, device=args.device)
        t_build = time.perf_counter() - start
        bz_model, t_model = best_time(lambda: model(mx, my, mz), args.repeat)
        bz_forward, t_forward = best_time(
            lambda: magcnn.forward(mx, my, mz, pixel_size_m=h, standoff_m=d, thickness_m=t, Ms_A_per_m=Ms,
                                   device=args.device), args.repeat)
        spectral_model = magcnn.ForwardModel((n, n), geometry, method="spectral", device=args.device)
        bz_magcnn_spectral = spectral_model(mx, my, mz)
    except (magcnn.InvalidInput, magcnn.EngineError) as exc:
        sys.exit(f"error: magcnn: {exc}")
    print(f"magcnn: {model.device}, {model.dtype}, padded grid {model.padded_shape[0]} x {model.padded_shape[1]}")

    # magpylib: one Cuboid per magnetized pixel, centred at (j h, i h, -t/2); observers at (j h, i h, d).
    start = time.perf_counter()
    rows, cols = np.nonzero(film)
    cuboids = [
        magpylib.magnet.Cuboid(dimension=(h, h, t), position=(j * h, i * h, -t / 2),
                               magnetization=(Ms * mx[i, j], Ms * my[i, j], Ms * mz[i, j]))
        for i, j in zip(rows, cols)
    ]
    collection = magpylib.Collection(*cuboids)
    t_collection = time.perf_counter() - start
    yy, xx = np.mgrid[0:n, 0:n] * h
    observers = np.stack([xx.ravel(), yy.ravel(), np.full(n * n, d)], axis=1)
    b_magpylib, t_magpylib = best_time(lambda: collection.getB(observers), args.repeat)
    bz_magpylib = np.asarray(b_magpylib)[:, 2].reshape(n, n)

    mu0_magcnn = magcnn.MU0
    mu0_magpylib = float(magpylib.mu_0)

    spectral = SpectralNumpy((n, n), h, d, t, Ms, mu0_magcnn)
    bz_numpy, t_numpy = best_time(lambda: spectral(mx, my, mz), args.repeat)

    peak = np.max(np.abs(bz_magpylib))

    def rel(a, b):
        return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - b)) / peak)

    agreement = rel(bz_model, bz_magpylib)
    geometric = rel(bz_model, bz_magpylib * (mu0_magcnn / mu0_magpylib))
    print(f"max |Bz| (magpylib): {peak:.6g} T")
    print(f"mu0: magcnn {mu0_magcnn:.11e}, magpylib {mu0_magpylib:.11e} T m/A "
          f"(relative difference {mu0_magcnn / mu0_magpylib - 1:.3g}; 4 pi 1e-7 = {MU0:.11e})")
    print(f"max |magcnn exact - magpylib| / max |Bz|:        {agreement:.3g}")
    print(f"  the same with magpylib's mu0 replaced by magcnn's: {geometric:.3g}")
    print(f"max |magcnn.forward - ForwardModel| / max |Bz|:  {rel(bz_forward, bz_model):.3g}")
    print(f"max |NumPy spectral - magpylib| / max |Bz|:      {rel(bz_numpy, bz_magpylib):.3g}  "
          "(the spectral approximation's own error, not a bug)")
    print(f"max |NumPy spectral - magcnn spectral| / max |Bz|: {rel(bz_numpy, bz_magcnn_spectral):.3g}  "
          "(the same transfer function twice, magcnn's mu0)")

    print()
    print(f"time per map, best of {args.repeat} (ratio to magcnn's ForwardModel call):")
    rows_table = [
        ("magcnn ForwardModel(...)(mx, my, mz), reused", "exact", t_model),
        ("magcnn.forward (plans the model every call)", "exact", t_forward),
        (f"magpylib Collection.getB, {len(cuboids)} cuboids", "exact", t_magpylib),
        ("NumPy FFT thin-film transfer function", "spectral", t_numpy),
    ]
    print(f"  {'':48s} {'model':8s} {'time':>10s} {'ratio':>9s}")
    for name, kind, seconds in rows_table:
        print(f"  {name:48s} {kind:8s} {seconds * 1e3:8.3f} ms {seconds / t_model:9.1f}")
    print(f"  (once: magcnn.ForwardModel construction {t_build * 1e3:.3f} ms, magpylib Collection of "
          f"{len(cuboids)} cuboids {t_collection * 1e3:.1f} ms)")

    tolerance = 1e-6 if model.dtype == "float64" else 1e-5
    if agreement > tolerance:
        print(f"DISAGREEMENT: magcnn and magpylib differ by {agreement:.3g} of the peak field, above {tolerance:g}")
        return 1
    print(f"agreement within {tolerance:g}: magcnn's exact model is magpylib's cuboid sum")
    return 0


if __name__ == "__main__":
    sys.exit(main())
