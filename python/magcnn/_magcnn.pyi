"""Type stubs of magcnn's compiled engine (the docstrings are the compiled module's own: help(magcnn.forward))."""

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str
#: The vacuum permeability the engine uses, T m / A (CODATA 2018).
MU0: float

ArrayLike = npt.ArrayLike
FieldAxis = Union[str, Sequence[float]]

class InvalidInput(ValueError):
    """Input the caller can fix: a shape, a value out of range, a file's contents."""

class EngineError(RuntimeError):
    """Any other failure of the engine: a library call, a file that cannot be written, a GPU."""

def cuda_available() -> bool: ...
def cuda_detail() -> str: ...

class Geometry:
    """A film and its sensor in SI units: pixel size h, standoff d, thickness t (m), Ms (A/m)."""

    def __init__(self, *, pixel_size_m: float, standoff_m: float, thickness_m: float, Ms_A_per_m: float) -> None: ...
    @property
    def pixel_size_m(self) -> float: ...
    @property
    def standoff_m(self) -> float: ...
    @property
    def thickness_m(self) -> float: ...
    @property
    def Ms_A_per_m(self) -> float: ...

class ForwardModel:
    """The exact forward model for maps of one shape (H, W), its kernel spectra computed once."""

    def __init__(
        self,
        shape: Tuple[int, int],
        geometry: Geometry,
        *,
        method: str = "exact",
        field_axis: FieldAxis = "z",
        unit: str = "T",
        device: str = "auto",
        max_batch: int = 1,
    ) -> None: ...
    def __call__(self, mx: ArrayLike, my: ArrayLike, mz: ArrayLike) -> np.ndarray:
        """The field [H, W] or [N, H, W] of maps of the unit magnetization M/Ms, in the model's unit;
        float64 on the CPU, float32 on the GPU."""
    def reads_in_place(self, array: ArrayLike) -> bool:
        """Whether a call reads `array` where it is, without a copy."""
    @property
    def shape(self) -> Tuple[int, int]: ...
    @property
    def padded_shape(self) -> Tuple[int, int]: ...
    @property
    def device(self) -> str: ...
    @property
    def device_choice(self) -> str: ...
    @property
    def dtype(self) -> str: ...
    @property
    def max_batch(self) -> int: ...
    @property
    def method(self) -> str: ...
    @property
    def field_axis(self) -> str: ...
    @property
    def geometry(self) -> Geometry: ...

def forward(
    mx: ArrayLike,
    my: ArrayLike,
    mz: ArrayLike,
    *,
    pixel_size_m: float,
    standoff_m: float,
    thickness_m: float,
    Ms_A_per_m: float,
    method: str = "exact",
    field_axis: FieldAxis = "z",
    unit: str = "T",
    device: str = "auto",
) -> np.ndarray:
    """The field B . u (Bz by default; field_axis) of maps [H, W] or [N, H, W] of the unit magnetization, in
    `unit` (tesla by default), as magcnn-forward computes it."""

class GeneratorSettings:
    """The [data] section of a configuration: None (the seed's), a file's path, a dict, with keys over them."""

    def __init__(self, settings: Union[None, str, Dict[str, Any], "GeneratorSettings"] = None, **keys: Any) -> None: ...
    @property
    def count(self) -> int: ...
    @property
    def seed(self) -> int: ...
    @property
    def img_size(self) -> int: ...
    @property
    def finer_grid(self) -> int: ...
    @property
    def rmax(self) -> float: ...
    @property
    def thickness_over_standoff(self) -> float: ...
    @property
    def target(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def field_axis(self) -> str: ...
    @property
    def noise_rms(self) -> float: ...
    @property
    def noise_background(self) -> float: ...
    @property
    def noise_tesla(self) -> float: ...
    @property
    def noise_Ms_A_per_m(self) -> float: ...
    @property
    def batch(self) -> int: ...

class Generator:
    """The seed's training samples, the same as magcnn-generate's for the same seed."""

    def __init__(
        self, settings: Union[None, str, Dict[str, Any], GeneratorSettings] = None, *, device: str = "auto", **keys: Any
    ) -> None: ...
    def next(self, n: int) -> Dict[str, np.ndarray]:
        """The next n samples: the normalized field ("Bz", or "Bx", "By", "Bnv") float32 [n, H, W], the
        target "m" float32 [n, H, W] or [n, 3, H, W], and float64 [n] "theta", "phi", "ellipse_a",
        "ellipse_b", "ellipse_tilt", "ellipse_xc", "ellipse_yc"."""
    def restart(self, seed: int) -> None: ...
    @property
    def settings(self) -> GeneratorSettings: ...
    @property
    def device(self) -> str: ...
    @property
    def field_name(self) -> str: ...
    @property
    def drawn(self) -> int: ...

class Model:
    """A trained model file, for predictions as magcnn-infer makes them."""

    @staticmethod
    def load(path: str) -> "Model": ...
    def predict(
        self,
        field: ArrayLike,
        *,
        geometry: Optional[Geometry] = None,
        unit: str = "T",
        directions: Optional[ArrayLike] = None,
        residual: bool = True,
        device: str = "auto",
        batch_size: int = 256,
        tile: int = 0,
    ) -> Dict[str, Any]:
        """The magnetization of field maps [H, W] or [N, H, W]: "m", "theta" or "mx", "my", "mz" (float32,
        the field's shape), and with the residual float64 [N] "residual_relative_l2", "residual_theta_rad",
        "residual_phi_rad", "residual_scale", bool [N] "residual_direction_fitted"; "device"."""
    @property
    def path(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def channels(self) -> int: ...
    @property
    def field_axis(self) -> str: ...
    @property
    def thickness_over_standoff(self) -> float: ...
    @property
    def trained_shape(self) -> Tuple[int, int]: ...
    @property
    def epochs(self) -> int: ...
    @property
    def trained_on(self) -> str: ...
    @property
    def trained_device(self) -> str: ...
    @property
    def validation_mse(self) -> Optional[float]: ...
    @property
    def history(self) -> List[Dict[str, Any]]: ...

def train(
    config: Optional[str] = None,
    *,
    out: str,
    data: str = "generated",
    device: str = "auto",
    resume: bool = False,
    epochs: Optional[int] = None,
    batch_size: Optional[int] = None,
    learning_rate: Optional[float] = None,
    target_loss: Optional[float] = None,
    weight_decay: Optional[float] = None,
    target: Optional[str] = None,
    schedule: Optional[str] = None,
    field_axis: Optional[str] = None,
    seed: Optional[int] = None,
    fresh_data: Optional[bool] = None,
    ensemble: Optional[int] = None,
    noise_rms: Optional[float] = None,
    noise_background: Optional[float] = None,
    noise_tesla: Optional[float] = None,
    noise_Ms_A_per_m: Optional[float] = None,
    progress: Optional[Callable[[Dict[str, Any]], None]] = None,
    quiet: bool = False,
) -> Dict[str, Any]:
    """magcnn-train's run into `out`: {"models": [...], "last_epoch": [...], "reached": bool}."""
