// magcnn.Geometry, magcnn.ForwardModel and magcnn.forward: the exact forward model on NumPy arrays.
#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <string>

#include "bindings.h"
#include "magcnn/dataset_io.h"
#include "magcnn/forward_model.h"
#include "magcnn/geometry.h"
#include "py_common.h"

namespace magcnn::py_binding {
namespace {

// The engine's check of a value a user gave, naming the keyword.
void check_geometry(const FilmGeometry& g) {
  check_geometry_value("pixel_size_m", g.pixel_size_m, "pixel_size_m=");
  check_geometry_value("standoff_m", g.standoff_m, "standoff_m=");
  check_geometry_value("thickness_m", g.thickness_m, "thickness_m=");
  check_geometry_value("Ms_A_per_m", g.Ms_A_per_m, "Ms_A_per_m=");
  g.validate();
}

// The rounding of the caller's values, as the file reader allows it: integers are exact, floats round
// as their NumPy type says.
void include_rounding(const py::handle value, MagnetizationRounding& rounding) {
  py::module_ np = py::module_::import("numpy");
  py::object dtype = np.attr("asarray")(value).attr("dtype");
  if (std::string(py::str(dtype.attr("kind"))) == "f") rounding.include(np.attr("finfo")(dtype).attr("eps").cast<double>(), py::str(dtype));
}

class PyForwardModel {
 public:
  // max_batch 0: the batch magcnn-forward takes for `expected_maps` maps.
  PyForwardModel(int64_t ny, int64_t nx, const FilmGeometry& geometry, const std::string& method, const FieldAxis& axis,
                 const std::string& unit, const std::string& device, int64_t max_batch, int64_t expected_maps = 0) {
    MAGCNN_REQUIRE(ny >= 1 && nx >= 1 && ny <= ForwardModel::kMaxSide && nx <= ForwardModel::kMaxSide,
                   "shape (" << ny << ", " << nx << "): each side from 1 to " << ForwardModel::kMaxSide);
    MAGCNN_REQUIRE(max_batch >= 1 || (max_batch == 0 && expected_maps >= 1), "max_batch=" << max_batch << ": 1 or more");
    check_geometry(geometry);
    axis.validate();
    MAGCNN_REQUIRE(unit == "T" || unit == "normalized", "unit='" << unit << "': 'T' (tesla) or 'normalized' (b = Bz 2d / (mu0 Ms t))");
    backend_ = released([&] { return open_backend(device, &why_); });
    options_.method = parse_forward_method(method);
    options_.axis = axis;
    options_.unit = unit == "T" ? FieldUnit::Tesla : FieldUnit::Normalized;
    options_.max_batch = max_batch > 0 ? max_batch : ForwardModel::suggested_batch(*backend_, expected_maps, ny, nx);
    geometry_ = geometry;
    released([&] { model_ = std::make_unique<ForwardModel>(*backend_, geometry, ny, nx, options_); });
  }

  py::array compute(py::handle mx, py::handle my, py::handle mz) {
    const bool f64 = model_->dtype() == DType::F64;
    MapsArgument m[3] = {maps_argument(mx, "mx", f64), maps_argument(my, "my", f64), maps_argument(mz, "mz", f64)};
    const char* names[3] = {"mx", "my", "mz"};
    for (int c = 0; c < 3; ++c)
      MAGCNN_REQUIRE(m[c].ny == model_->ny() && m[c].nx == model_->nx() && m[c].n == m[0].n && m[c].batched == m[0].batched,
                     names[c] << ": maps of shape " << shape_text(m[c]) << "; this model takes " << (m[0].batched ? "[N, " : "[")
                              << model_->ny() << ", " << model_->nx() << "]" << (c > 0 ? " as mx is" : ""));
    MagnetizationRounding rounding;
    for (py::handle v : {mx, my, mz}) include_rounding(v, rounding);
    std::vector<int64_t> shape{m[0].n, model_->out_ny(), model_->out_nx()};
    require_result_memory(static_cast<double>(checked_product(shape, "the field")) * (f64 ? 8 : 4),
                          "the field of " + std::to_string(m[0].n) + " map(s)");
    if (!m[0].batched) shape.erase(shape.begin());
    if (f64) return compute_as<double>(m, shape, rounding);
    return compute_as<float>(m, shape, rounding);
  }

  std::pair<int64_t, int64_t> shape() const { return {model_->ny(), model_->nx()}; }
  std::pair<int64_t, int64_t> padded_shape() const { return {model_->padded_ny(), model_->padded_nx()}; }
  std::string device() const { return backend_->description(); }
  std::string why() const { return why_; }
  std::string dtype() const { return model_->dtype() == DType::F64 ? "float64" : "float32"; }
  int64_t max_batch() const { return options_.max_batch; }
  std::string method() const { return forward_method_name(options_.method); }
  std::string field_axis() const { return options_.axis.text(); }
  const FilmGeometry& geometry() const { return geometry_; }

 private:
  static std::string shape_text(const MapsArgument& a) {
    return (a.batched ? "[" + std::to_string(a.n) + ", " : std::string("[")) + std::to_string(a.ny) + ", " + std::to_string(a.nx) + "]";
  }

  // The field of maps checked against `rounding`, into a new array of `shape`, in the model's type T.
  template <class T>
  py::array compute_as(const MapsArgument* m, const std::vector<int64_t>& shape, const MagnetizationRounding& rounding) {
    const int64_t n = m[0].n, ny = model_->ny(), nx = model_->nx();
    auto out = new_array<T>(shape);
    T* bz = mutable_data(out);
    released([&] {
      check_unit_magnetization(m[0].data<T>(), m[1].data<T>(), m[2].data<T>(), n * ny * nx, ny, nx, 0, rounding.tolerance(),
                               rounding.type_name(), "the magnetization");
      const OneCallAtATime::Held one_call(busy_);
      run<T>(m, n, bz);
    });
    return std::move(out);
  }

  // Batch by batch; on the CPU the caller's arrays are the model's input and its result the output
  // array itself, on the GPU they go through device buffers made once per call.
  template <class T>
  void run(const MapsArgument* m, int64_t n, T* bz) {
    const int64_t ny = model_->ny(), nx = model_->nx(), plane = ny * nx, out_plane = model_->out_ny() * model_->out_nx();
    const int64_t B = options_.max_batch;
    const DType dt = model_->dtype();
    const bool host = backend_->kind() == DeviceKind::CPU;
    Tensor staged[3], field;
    if (!host) {
      for (Tensor& t : staged) t = Tensor(*backend_, dt, Shape{std::min(B, n), ny, nx});
      field = Tensor(*backend_, dt, Shape{std::min(B, n), model_->out_ny(), model_->out_nx()});
    }
    for (int64_t first = 0; first < n; first += B) {
      throw_if_interrupted();
      const int64_t count = std::min(B, n - first);
      TensorView in[3], out;
      for (int c = 0; c < 3; ++c) {
        const T* src = m[c].data<T>() + first * plane;
        if (host) {
          in[c] = TensorView{const_cast<T*>(src), dt, DeviceKind::CPU, Shape{count, ny, nx}};
        } else {
          in[c] = staged[c].view().slice(0, count);
          backend_->upload(in[c].data, src, static_cast<std::size_t>(count * plane) * sizeof(T));
        }
      }
      out = host ? TensorView{bz + first * out_plane, dt, DeviceKind::CPU, Shape{count, model_->out_ny(), model_->out_nx()}}
                 : field.view().slice(0, count);
      model_->compute(in[0], in[1], in[2], out);
      if (!host) backend_->download(bz + first * out_plane, out.data, out.bytes());
    }
    backend_->synchronize();
  }

  std::unique_ptr<Backend> backend_;  // declared first: destroyed last
  std::string why_;
  FilmGeometry geometry_;
  ForwardOptions options_;
  std::unique_ptr<ForwardModel> model_;
  OneCallAtATime busy_;  // its workspaces serve one call
};

FieldAxis axis_argument(const py::handle value) {
  if (py::isinstance<py::str>(value)) return parse_field_axis(value.cast<std::string>());
  const auto v = cast_argument<std::vector<double>>(value, "field_axis", "a name (\"z\", \"THETA,PHI\") or a vector of 3 numbers");
  MAGCNN_REQUIRE(v.size() == 3, "field_axis: a vector has 3 components, got " << v.size());
  return field_axis_from_vector(v[0], v[1], v[2]);
}

std::pair<int64_t, int64_t> shape_argument(const py::handle value) {
  const auto v = cast_argument<std::vector<int64_t>>(value, "shape", "(H, W), two whole numbers");
  MAGCNN_REQUIRE(v.size() == 2, "shape: (H, W), got " << v.size() << " numbers");
  return {v[0], v[1]};
}

}  // namespace

void bind_forward(py::module_& m) {
  py::class_<FilmGeometry>(m, "Geometry", R"(A film and its sensor, in SI units.

pixel_size_m: the maps' pixel size h (m); standoff_m: the sensor's height d above the film's top
surface (m); thickness_m: the film's thickness t (m); Ms_A_per_m: its saturation magnetization (A/m).
Checked as the programs check them: lengths from 1e-12 to 1 m, Ms up to 1e8 A/m, d/h and t/h in the
range where the kernels are exact (ValueError naming the value otherwise).)")
      .def(py::init([](double pixel_size_m, double standoff_m, double thickness_m, double Ms_A_per_m) {
             FilmGeometry g{pixel_size_m, standoff_m, thickness_m, Ms_A_per_m};
             check_geometry(g);
             return g;
           }),
           py::kw_only(), py::arg("pixel_size_m"), py::arg("standoff_m"), py::arg("thickness_m"), py::arg("Ms_A_per_m"))
      .def_readonly("pixel_size_m", &FilmGeometry::pixel_size_m)
      .def_readonly("standoff_m", &FilmGeometry::standoff_m)
      .def_readonly("thickness_m", &FilmGeometry::thickness_m)
      .def_readonly("Ms_A_per_m", &FilmGeometry::Ms_A_per_m)
      .def("__repr__", [](const FilmGeometry& g) {
        char b[200];
        std::snprintf(b, sizeof b, "Geometry(pixel_size_m=%.6g, standoff_m=%.6g, thickness_m=%.6g, Ms_A_per_m=%.6g)", g.pixel_size_m,
                      g.standoff_m, g.thickness_m, g.Ms_A_per_m);
        return std::string(b);
      });

  py::class_<PyForwardModel>(m, "ForwardModel", R"(The exact forward model for maps of one shape, planned once.

ForwardModel(shape, geometry, *, method="exact", field_axis="z", unit="T", device="auto", max_batch=1)

shape: (H, W) of the magnetization maps; geometry: a magcnn.Geometry. The cell kernels' spectra are
computed and the FFTs planned here, once; every call reuses them. method: "exact" (every pixel a
uniformly magnetized cuboid) or "spectral" (the thin-film transfer function). field_axis: the field
component, B . u: "z" (Bz), "x", "y", "THETA,PHI" (an NV axis by its polar angle and azimuth in
degrees, "54.7356,45" is [111]) or a vector (ux, uy, uz). unit: "T" (tesla) or "normalized"
(b = Bz 2d / (mu0 Ms t), what the network sees). device: "auto", "cpu" or "cuda". max_batch: maps
per engine call (memory grows with it).)")
      .def(py::init([](py::handle shape, const FilmGeometry& geometry, const std::string& method, py::handle field_axis,
                       const std::string& unit, const std::string& device, int64_t max_batch) {
             const auto [ny, nx] = shape_argument(shape);
             return std::make_unique<PyForwardModel>(ny, nx, geometry, method, axis_argument(field_axis), unit, device, max_batch);
           }),
           py::arg("shape"), py::arg("geometry"), py::kw_only(), py::arg("method") = "exact", py::arg("field_axis") = "z",
           py::arg("unit") = "T", py::arg("device") = "auto", py::arg("max_batch") = 1)
      .def("__call__", &PyForwardModel::compute, py::arg("mx"), py::arg("my"), py::arg("mz"),
           R"(The field of maps mx, my, mz ([H, W] or [N, H, W], the unit magnetization M/Ms, |m| <= 1).

Returns the field component [H, W] or [N, H, W] in the model's unit, float64 on the CPU (the engine
computes in double there) and float32 on the GPU. C-contiguous arrays of that type are read in place,
without a copy; any other real array (another dtype, strided, a view) is converted once. Releases the
GIL; Ctrl-C stops it between batches (KeyboardInterrupt). ValueError for a wrong shape, a value that is
not finite or an |m| above 1, naming the map, row and column.)")
      .def(
          "reads_in_place",
          [](const PyForwardModel& model, py::handle array) { return reads_in_place(array, model.dtype() == "float64"); },
          py::arg("array"), "Whether a call reads `array` where it is, without a copy (C-contiguous, of the model's dtype).")
      .def_property_readonly("shape", &PyForwardModel::shape, "(H, W) of the maps")
      .def_property_readonly("padded_shape", &PyForwardModel::padded_shape, "the zero-padded FFT grid (P, Q)")
      .def_property_readonly("device", &PyForwardModel::device, "where it runs")
      .def_property_readonly("device_choice", &PyForwardModel::why, "why that device was taken")
      .def_property_readonly("dtype", &PyForwardModel::dtype, "the real type it computes in and returns")
      .def_property_readonly("max_batch", &PyForwardModel::max_batch)
      .def_property_readonly("method", &PyForwardModel::method)
      .def_property_readonly("field_axis", &PyForwardModel::field_axis, "the axis as field_axis= reads it back")
      .def_property_readonly("geometry", &PyForwardModel::geometry);

  m.def(
      "forward",
      [](py::handle mx, py::handle my, py::handle mz, double pixel_size_m, double standoff_m, double thickness_m, double Ms_A_per_m,
         const std::string& method, py::handle field_axis, const std::string& unit, const std::string& device) {
        const FilmGeometry g{pixel_size_m, standoff_m, thickness_m, Ms_A_per_m};
        // The shape alone, from NumPy; compute() reads and checks the arrays.
        const auto shape = py::module_::import("numpy").attr("shape")(mz).cast<std::vector<int64_t>>();
        MAGCNN_REQUIRE(shape.size() == 2 || shape.size() == 3,
                       "mz: an array of rank " << shape.size() << "; give one map [H, W] or maps [N, H, W]");
        const int64_t n = shape.size() == 3 ? shape[0] : 1, ny = shape[shape.size() - 2], nx = shape[shape.size() - 1];
        MAGCNN_REQUIRE(n >= 1 && ny >= 1 && nx >= 1, "mz: empty maps (" << n << " x " << ny << " x " << nx << ")");
        PyForwardModel model(ny, nx, g, method, axis_argument(field_axis), unit, device, 0, n);
        return model.compute(mx, my, mz);
      },
      py::arg("mx"), py::arg("my"), py::arg("mz"), py::kw_only(), py::arg("pixel_size_m"), py::arg("standoff_m"),
      py::arg("thickness_m"), py::arg("Ms_A_per_m"), py::arg("method") = "exact", py::arg("field_axis") = "z", py::arg("unit") = "T",
      py::arg("device") = "auto",
      R"(The stray field of magnetization maps, as magcnn-forward computes it (the same batches, the same bits).

mx, my, mz: [H, W] or [N, H, W], the unit magnetization M/Ms. Geometry in SI units (metres, A/m).
Returns Bz (or B . u for field_axis) in tesla, [H, W] or [N, H, W], float64 on the CPU and float32 on
the GPU; magcnn-forward stores the same values as float32. Plans a model for this call; for many
calls on maps of one shape, make a magcnn.ForwardModel once. See ForwardModel for arrays, the GIL
and errors.)");
}

}  // namespace magcnn::py_binding
