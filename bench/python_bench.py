#!/usr/bin/env python3
"""The Python module's cost against the C++ it calls, and beside magpylib and NumPy on the same maps.

    PYTHONPATH=build/python python3 bench/python_bench.py [--build build] [--repeat 2000]

1. Calling overhead: magcnn.ForwardModel((32, 32))(mx, my, mz) against the same compute() in C++
   (magcnn-bench's forward_sweep/cpu/exact/32/1, the kernel spectra cached in both).
2. A 2048 x 2048 map: magcnn.forward (checks |m| <= 1, computes the kernels, plans and computes) against
   magcnn-bench's forward_map_checked/cpu/2048 (the same work in C++, what magcnn-forward computes between
   reading and writing) and against the program's whole run (which adds HDF5 reading and writing).
3. Beside its peers: magpylib's sum over cuboids (exact, the same field) and NumPy's FFT of the thin-film
   transfer function (the spectral approximation), same maps.
Prints a Markdown table for bench/RESULTS.md. CPU only: the module and C++ run on the same threads.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import magcnn

REPO = pathlib.Path(__file__).resolve().parents[1]
MU0 = magcnn.MU0
# d/h = 0.5 and t/h = 0.1, magcnn-bench's geometry.
GEOMETRY = dict(pixel_size_m=1e-8, standoff_m=5e-9, thickness_m=1e-9, Ms_A_per_m=8e5)


def random_map(side, seed=1):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(3, side, side))
    v *= rng.uniform(0, 1, size=(side, side)) / np.linalg.norm(v, axis=0)
    return v[0].copy(), v[1].copy(), v[2].copy()


def timed(f, repeat, warmup=3):
    """Median and minimum of `repeat` timings of f(), seconds."""
    for _ in range(warmup):
        f()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def cpp_benchmarks(build, names):
    """Real time per iteration (s) of magcnn-bench's benchmarks, by name."""
    bench = pathlib.Path(build) / "bench" / "magcnn-bench"
    pattern = "|".join("^" + n.replace("/", "/") + "$" for n in names)
    out = subprocess.run([str(bench), f"--benchmark_filter={pattern}", "--benchmark_format=json", "--benchmark_repetitions=5",
                          "--benchmark_report_aggregates_only=true"], capture_output=True, text=True, check=True).stdout
    result = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") == "median":
            unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
            result[b["run_name"]] = b["real_time"] * unit
    missing = [n for n in names if n not in result]
    if missing:
        sys.exit(f"magcnn-bench has no {missing}: build it first (cmake --build {build})")
    return result


def program_seconds(build, side):
    """magcnn-forward's whole run on one side x side map (HDF5 in and out), the median of 3."""
    import h5py

    with tempfile.TemporaryDirectory() as tmp:
        mx, my, mz = random_map(side)
        with h5py.File(f"{tmp}/m.h5", "w") as f:
            for name, a in (("mx", mx), ("my", my), ("mz", mz)):
                f[name] = a
            for k, v in GEOMETRY.items():
                f.attrs[k] = v
        program = pathlib.Path(build) / "apps" / "magcnn-forward"
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run([str(program), "--in", f"{tmp}/m.h5", "--out", f"{tmp}/b.h5", "--device", "cpu", "--quiet"], check=True)
            times.append(time.perf_counter() - t0)
        return statistics.median(times)


def numpy_spectral(mx, my, mz, g):
    """The thin-film transfer function on a zero-padded grid: the spectral approximation, in NumPy."""
    ny, nx = mz.shape
    P, Q = 2 * ny, 2 * nx
    ky = 2 * np.pi * np.fft.fftfreq(P, g["pixel_size_m"])[:, None]
    kx = 2 * np.pi * np.fft.rfftfreq(Q, g["pixel_size_m"])[None, :]
    k = np.hypot(kx, ky)
    d, t = g["standoff_m"], g["thickness_m"]
    with np.errstate(invalid="ignore", divide="ignore"):
        depth = np.where(k > 0, np.exp(-k * d) * (1 - np.exp(-k * t)) / k, t)
    spectra = [np.fft.rfft2(a, s=(P, Q)) for a in (mx, my, mz)]
    with np.errstate(invalid="ignore", divide="ignore"):
        in_plane = np.where(k > 0, 1j / k, 0)
    bz = 0.5 * MU0 * g["Ms_A_per_m"] * k * depth * (spectra[2] + in_plane * (kx * spectra[0] + ky * spectra[1]))
    return np.fft.irfft2(bz, s=(P, Q))[:ny, :nx]


def magpylib_field(mx, my, mz, g):
    import magpylib

    ny, nx = mz.shape
    h, t, d = g["pixel_size_m"], g["thickness_m"], g["standoff_m"]
    js, is_ = np.meshgrid(np.arange(nx), np.arange(ny))
    magnets = [magpylib.magnet.Cuboid(dimension=(h, h, t), position=(j * h, i * h, -t / 2),
                                      magnetization=(mx[i, j] * g["Ms_A_per_m"], my[i, j] * g["Ms_A_per_m"], mz[i, j] * g["Ms_A_per_m"]))
               for i, j in zip(is_.ravel(), js.ravel())]
    collection = magpylib.Collection(*magnets)
    observers = np.stack([js.ravel() * h, is_.ravel() * h, np.full(ny * nx, d)], axis=1)
    return lambda: collection.getB(observers)[:, 2].reshape(ny, nx)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default=str(REPO / "build"))
    parser.add_argument("--repeat", type=int, default=2000, help="calls timed on the 32 x 32 map")
    args = parser.parse_args()

    # The C++ and Python runs alternate, three rounds, so that the machine's drift falls on both alike.
    names = ["forward_sweep/cpu/exact/32/1/manual_time", "forward_map_checked/cpu/2048/real_time"]
    small = random_map(32)
    big = random_map(2048)
    model = magcnn.ForwardModel((32, 32), magcnn.Geometry(**GEOMETRY), device="cpu")
    assert model.reads_in_place(small[0])
    rounds = {"cpp_call": [], "cpp_big": [], "py_call": [], "py_big": []}
    for _ in range(3):
        cpp = cpp_benchmarks(args.build, names)
        rounds["cpp_call"].append(cpp[names[0]])
        rounds["cpp_big"].append(cpp[names[1]])
        rounds["py_call"].append(timed(lambda: model(*small), args.repeat)[0])
        rounds["py_big"].append(timed(lambda: magcnn.forward(*big, **GEOMETRY, device="cpu"), 5, warmup=1)[0])
    cpp_call, cpp_big, py_call, py_big = (statistics.median(rounds[k]) for k in ("cpp_call", "cpp_big", "py_call", "py_big"))
    rows = []
    rows.append(("32 x 32, planned model reused: C++ compute()", cpp_call, None))
    rows.append(("32 x 32, planned model reused: ForwardModel.__call__", py_call, f"+{(py_call - cpp_call) * 1e6:.1f} us"))
    py_function, _ = timed(lambda: magcnn.forward(*small, **GEOMETRY, device="cpu"), max(args.repeat // 10, 20))
    rows.append(("32 x 32, magcnn.forward (plans a model every call)", py_function, None))
    rows.append(("2048 x 2048, magcnn-forward's compute in C++: the check of m, kernels, field", cpp_big, None))
    rows.append(("2048 x 2048, the same by magcnn.forward", py_big, f"{100 * (py_big / cpp_big - 1):+.1f}%"))
    rows.append(("2048 x 2048, magcnn-forward whole run (HDF5 in and out)", program_seconds(args.build, 2048), None))

    np_small, _ = timed(lambda: numpy_spectral(*small, GEOMETRY), 200)
    np_big, _ = timed(lambda: numpy_spectral(*big, GEOMETRY), 3, warmup=1)
    rows.append(("32 x 32, NumPy FFT transfer function (spectral approximation)", np_small, f"{np_small / py_call:.1f}x magcnn's"))
    rows.append(("2048 x 2048, NumPy FFT transfer function (spectral approximation)", np_big, f"{np_big / py_big:.2f}x magcnn's"))
    try:
        field = magpylib_field(*small, GEOMETRY)
        mp, _ = timed(field, 3, warmup=1)
        agreement = np.abs(field() - model(*small)).max() / np.abs(field()).max()
        rows.append(("32 x 32, magpylib Collection.getB, 1024 cuboids (exact)", mp,
                     f"{mp / py_call:.0f}x magcnn's; agree to {agreement:.1e}"))
    except ImportError:
        rows.append(("magpylib", float("nan"), "not installed (pip install magpylib)"))

    threads = model.device
    print(f"magcnn {magcnn.__version__}, {threads}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; medians")
    print("rounds (s):", {k: [f"{v:.4g}" for v in vs] for k, vs in rounds.items()})
    print("| work | time | note |\n|---|---|---|")
    for name, seconds, note in rows:
        text = f"{seconds * 1e6:.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.3f} s"
        print(f"| {name} | {text} | {note or ''} |")


if __name__ == "__main__":
    main()
