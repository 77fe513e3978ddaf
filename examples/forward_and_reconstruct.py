#!/usr/bin/env python3
"""A magnetization texture, its stray field, and the trained network's reconstruction of it.

What it shows:
  1. a thin film in SI units (t = 5 nm, Ms = 1e6 A/m, pixels of 12.5 nm, 128 x 128 pixels = 1.6 um
     square) holding three disks magnetized out of the plane (two up, one down) and an ellipse
     magnetized in the plane along its long axis, |m| <= 1 and zero outside them;
  2. its stray field Bz at d = 50 nm above the film's top surface, from magcnn's exact forward model
     (every pixel a uniformly magnetized cuboid), magcnn.forward;
  3. the magnetization reconstructed from that Bz by a trained model, magcnn.Model.predict: the map is
     resampled onto the model's grid (1 pixel = 1 standoff, here 32 x 32, the size the seed's network
     was trained on), predicted, and resampled back;
  4. the mean squared error of the predicted |m| against the true |m|, the physics residual (the
     relative L2 difference between the field of the prediction and Bz), and a three-panel figure.

The geometry has t/d = 0.1, the film the seed's models are trained for, and the shapes are of the sizes
of the seed's training ellipses (semi-axes up to 5 standoffs, DESIGN.md section 2).

Run it from the repository root, after `bash scripts/setup.sh test` (which builds build/python):

    PYTHONPATH=build/python python3 examples/forward_and_reconstruct.py [--model RUN_DIR|MODEL.h5]
        [--out FIG.png] [--device auto|cpu|cuda] [--train-out DIR]

or with `python3 examples/forward_and_reconstruct.py` once magcnn is installed (`pip install .`).
Without --model it takes the newest runs/seed-*/model.h5 of the repository (what `bash scripts/setup.sh
run` trains); if there is none it trains a small model first (3 epochs, a few seconds on 2 cores) into
--train-out, or into a new temporary folder, and says where.
"""

import argparse
import glob
import os
import sys
import tempfile

import numpy as np

try:
    import magcnn
except ImportError as exc:  # the one thing this script cannot do without
    sys.exit(
        f"error: cannot import magcnn ({exc}). Build it with `bash scripts/setup.sh test` and run with "
        "PYTHONPATH=build/python from the repository root, or install it with `pip install .`."
    )

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MU0 = magcnn.MU0  # the engine's vacuum permeability, T m / A

# The film and its sensor (SI units). t/d = 0.1 as the seed's training data; 4 pixels per standoff, so the
# 128 x 128 map covers 32 x 32 standoffs, the network's training size.
PIXEL_SIZE_M = 12.5e-9
STANDOFF_M = 50e-9
THICKNESS_M = 5e-9
MS_A_PER_M = 1e6
MAP_SIDE = 128


def texture(side, pixel_size_m, standoff_m, supersample=4):
    """mx, my, mz [side, side]: three out-of-plane disks and an in-plane ellipse, in units of the standoff.

    Row i is y = (i - (side-1)/2) h, column j is x = (j - (side-1)/2) h (magcnn's maps are [H, W] = [y, x]).
    Each pixel's |m| is the fraction of it covered by a shape (supersample^2 points per pixel), so edges
    are antialiased as the training shapes' are; |m| <= 1, and 0 outside the shapes.
    """
    d = standoff_m
    # (kind, centre x, centre y in standoffs, size parameters, magnetization direction)
    shapes = [
        ("disk", -8.0, 7.0, (3.0,), (0.0, 0.0, 1.0)),    # up
        ("disk", 8.0, 8.0, (2.0,), (0.0, 0.0, -1.0)),    # down
        ("disk", 9.0, -8.0, (2.5,), (0.0, 0.0, 1.0)),    # up
        # semi-axes 5 d x 2.5 d, long axis 30 degrees from +x, magnetized along it
        ("ellipse", -5.5, -6.5, (5.0, 2.5, np.deg2rad(30.0)), (np.cos(np.deg2rad(30.0)), np.sin(np.deg2rad(30.0)), 0.0)),
    ]
    # supersampled coordinates of each pixel, in standoffs
    offsets = (np.arange(supersample) + 0.5) / supersample - 0.5
    centres = (np.arange(side) - (side - 1) / 2.0)
    fine = (centres[:, None] + offsets[None, :]).reshape(-1) * pixel_size_m / d
    y, x = np.meshgrid(fine, fine, indexing="ij")
    m = np.zeros((3, side, side))
    for kind, xc, yc, size, direction in shapes:
        u, v = x - xc, y - yc
        if kind == "disk":
            inside = u * u + v * v <= size[0] ** 2
        else:
            a, b, tilt = size
            along = u * np.cos(tilt) + v * np.sin(tilt)
            across = -u * np.sin(tilt) + v * np.cos(tilt)
            inside = (along / a) ** 2 + (across / b) ** 2 <= 1.0
        fraction = inside.reshape(side, supersample, side, supersample).mean(axis=(1, 3))
        m += fraction[None] * np.asarray(direction, dtype=float)[:, None, None]
    # the shapes do not overlap, so |m| stays <= 1; clip rounding anyway
    amplitude = np.sqrt((m * m).sum(axis=0))
    m *= np.minimum(1.0, 1.0 / np.maximum(amplitude, 1e-300))
    return m[0], m[1], m[2]


def newest_seed_model():
    candidates = glob.glob(os.path.join(REPO_ROOT, "runs", "seed-*", "model.h5"))
    return max(candidates, key=os.path.getmtime) if candidates else None


def find_or_train_model(args):
    if args.model:
        return args.model
    path = newest_seed_model()
    if path:
        print("no --model given: taking the newest of the repository's runs/seed-*/model.h5")
        return path
    out = args.train_out or os.path.join(tempfile.mkdtemp(prefix="magcnn-example-"), "run")
    print(f"no runs/seed-*/model.h5 under {REPO_ROOT}: training a small model (3 epochs) into {out}")
    result = magcnn.train(out=out, epochs=3, device=args.device, quiet=False)
    path = result["models"][0]
    print(f"trained {path} (reached the target validation MSE: {result['reached']})")
    return path


def field_unit(values_t):
    """A unit for the field's plot: millitesla above 1 mT, else microtesla."""
    peak = float(np.max(np.abs(values_t)))
    return (1e3, "mT") if peak >= 1e-3 else (1e6, "uT")


def plot(path, m_true, field, field_name, m_pred, model_label):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install matplotlib): no figure written")
        return
    half = MAP_SIDE * PIXEL_SIZE_M * 1e9 / 2.0
    extent = (-half, half, -half, half)  # nm; origin="lower": row 0 at the bottom (y increases with the row)
    scale, unit = field_unit(field)
    vmax_b = float(np.max(np.abs(field))) * scale
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), constrained_layout=True)
    panels = [
        (m_true, "true |m|", "viridis", 0.0, 1.0, "|m|"),
        (field * scale, f"{field_name} at d = {STANDOFF_M * 1e9:g} nm (exact model)", "RdBu_r", -vmax_b, vmax_b,
         f"{field_name} ({unit})"),
        (m_pred, f"predicted |m| ({model_label})", "viridis", 0.0, 1.0, "|m|"),
    ]
    for ax, (data, title, cmap, vmin, vmax, label) in zip(axes, panels):
        image = ax.imshow(data, origin="lower", extent=extent, cmap=cmap, vmin=vmin, vmax=vmax)
        ax.set_title(title)
        ax.set_xlabel("x (nm)")
        ax.set_ylabel("y (nm)")
        fig.colorbar(image, ax=ax, shrink=0.85, label=label)
    fig.suptitle(
        f"film t = {THICKNESS_M * 1e9:g} nm, Ms = {MS_A_PER_M:g} A/m, pixel {PIXEL_SIZE_M * 1e9:g} nm, "
        f"{MAP_SIDE} x {MAP_SIDE}"
    )
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"figure: {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a model file or a run folder (default: the newest runs/seed-*/model.h5, "
                        "else a small model trained first)")
    parser.add_argument("--out", default="forward_and_reconstruct.png", help="the figure (PNG)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--train-out", help="where to train a model if none is found (default: a new temporary folder)")
    args = parser.parse_args()
    if args.out and os.path.isdir(args.out):
        parser.error(f"--out {args.out} is a directory: give a file name such as fig.png")

    try:
        model_path = find_or_train_model(args)
        model = magcnn.Model.load(model_path)
        if model.target not in ("shape", "vector"):
            sys.exit(f"error: {model.path} predicts the '{model.target}' target; this example needs a 'shape' "
                     "or 'vector' model (|m|, or mx, my, mz)")
        print(f"model: {model.path}, target {model.target}, trained {model.epochs} epoch(s) on "
              f"{model.trained_shape[0]} x {model.trained_shape[1]} maps, validation MSE "
              f"{'n/a' if model.validation_mse is None else format(model.validation_mse, '.3g')}")
        t_over_d = THICKNESS_M / STANDOFF_M
        if not np.isclose(t_over_d, model.thickness_over_standoff, rtol=1e-6):
            print(f"warning: this film has t/d = {t_over_d:g} but the model was trained for "
                  f"t/d = {model.thickness_over_standoff:g}: expect a poorer reconstruction")

        mx, my, mz = texture(MAP_SIDE, PIXEL_SIZE_M, STANDOFF_M)
        m_true = np.sqrt(mx * mx + my * my + mz * mz)
        geometry = magcnn.Geometry(pixel_size_m=PIXEL_SIZE_M, standoff_m=STANDOFF_M, thickness_m=THICKNESS_M,
                                   Ms_A_per_m=MS_A_PER_M)
        print(f"film: {geometry}, {MAP_SIDE} x {MAP_SIDE} pixels "
              f"({MAP_SIDE * PIXEL_SIZE_M / STANDOFF_M:g} x {MAP_SIDE * PIXEL_SIZE_M / STANDOFF_M:g} standoffs)")
        print(f"texture: 3 out-of-plane disks (radii 150, 100, 125 nm) and an in-plane ellipse (250 x 125 nm); "
              f"film on {np.count_nonzero(m_true)} of {m_true.size} pixels")

        # The model's component (Bz for the seed's models); magcnn.forward returns tesla.
        axis = model.field_axis
        field_name = "Bz" if axis == "z" else f"B.u (u = {axis})"
        field = magcnn.forward(mx, my, mz, pixel_size_m=PIXEL_SIZE_M, standoff_m=STANDOFF_M,
                               thickness_m=THICKNESS_M, Ms_A_per_m=MS_A_PER_M, field_axis=axis, device=args.device)
        scale, unit = field_unit(field)
        print(f"{field_name}: min {field.min() * scale:.4g} {unit}, max {field.max() * scale:.4g} {unit} "
              f"(mu0 Ms t / 2d = {MU0 * MS_A_PER_M * THICKNESS_M / (2 * STANDOFF_M) * scale:.4g} {unit})")

        result = model.predict(field, geometry=geometry, unit="T", device=args.device)
        if model.target == "shape":
            m_pred = np.asarray(result["m"], dtype=np.float64)
        else:
            m_pred = np.sqrt(sum(np.asarray(result[c], dtype=np.float64) ** 2 for c in ("mx", "my", "mz")))
        print(f"prediction on {result['device']}: |m| in [{m_pred.min():.3f}, {m_pred.max():.3f}]")

        mse = float(np.mean((m_pred - m_true) ** 2))
        film = m_true > 0
        print(f"MSE of the predicted |m| against the true |m|: {mse:.4g} over the map "
              f"(mean |error| {np.abs(m_pred - m_true)[film].mean():.3f} on the film, "
              f"{np.abs(m_pred)[~film].mean():.3f} off it)")
        residual = float(np.ravel(result["residual_relative_l2"])[0])
        fitted = bool(np.ravel(result["residual_direction_fitted"])[0])
        theta = np.degrees(float(np.ravel(result["residual_theta_rad"])[0]))
        phi = np.degrees(float(np.ravel(result["residual_phi_rad"])[0]))
        print(f"physics residual (relative L2 of the field of the prediction against {field_name}): {residual:.4g}")
        if model.target == "shape":
            print(f"  the shape model predicts |m| only; the residual {'fitted' if fitted else 'used'} one uniform "
                  f"direction for the whole map (theta {theta:.1f}, phi {phi:.1f} deg, amplitude scale "
                  f"{float(np.ravel(result['residual_scale'])[0]):.3g}), which cannot explain disks magnetized up "
                  "and down beside an in-plane ellipse")
            # Known here, as the texture is synthetic: the predicted |m| (clipped to 1) along each pixel's true direction.
            with np.errstate(invalid="ignore", divide="ignore"):
                unit_m = np.where(film, np.stack([mx, my, mz]) / np.where(film, m_true, 1.0), 0.0)
            again = magcnn.forward(*(np.clip(m_pred, 0.0, 1.0) * unit_m), pixel_size_m=PIXEL_SIZE_M, standoff_m=STANDOFF_M,
                                   thickness_m=THICKNESS_M, Ms_A_per_m=MS_A_PER_M, field_axis=axis,
                                   device=args.device)
            print(f"  with the true direction of each pixel instead: relative L2 "
                  f"{np.linalg.norm(again - field) / np.linalg.norm(field):.4g}")

        label = f"{model.target} model, {model.epochs} epoch(s)"
        plot(args.out, m_true, field, field_name, m_pred, label)
    except (magcnn.InvalidInput, magcnn.EngineError) as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
