"""magcnn: the magnetization of a thin film from the stray field measured above it.

The same engine as the magcnn programs, on NumPy arrays:

* ``forward(mx, my, mz, *, pixel_size_m, standoff_m, thickness_m, Ms_A_per_m)``: the exact stray field
  (tesla); ``ForwardModel(shape, geometry)`` plans it once for many calls.
* ``Generator(settings).next(n)``: the seed's training samples, as magcnn-generate makes them.
* ``Model.load(path).predict(bz, geometry=...)``: the magnetization, as magcnn-infer predicts it.
* ``train(config, out=..., progress=...)``: magcnn-train's run.

Bad input raises ``ValueError`` (``magcnn.InvalidInput``), any other failure ``RuntimeError``
(``magcnn.EngineError``), both with the engine's message; Ctrl-C raises ``KeyboardInterrupt``.
Lengths are in metres, Ms in A/m, fields in tesla unless a ``unit`` says otherwise.
"""

from ._magcnn import (  # noqa: F401
    EngineError,
    ForwardModel,
    Generator,
    GeneratorSettings,
    Geometry,
    MU0,
    InvalidInput,
    Model,
    __version__,
    cuda_available,
    cuda_detail,
    forward,
    train,
)

__all__ = [
    "EngineError",
    "ForwardModel",
    "Generator",
    "GeneratorSettings",
    "Geometry",
    "MU0",
    "InvalidInput",
    "Model",
    "__version__",
    "cuda_available",
    "cuda_detail",
    "forward",
    "train",
]
