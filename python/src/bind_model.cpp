// magcnn.Model: a trained model file, and predictions on field maps as magcnn-infer makes them
// (resampling onto the model's grid, tiling, the network, resampling back, the physics residual).
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bindings.h"
#include "magcnn/dataset_io.h"
#include "magcnn/inference.h"
#include "magcnn/inference_io.h"
#include "magcnn/model_io.h"
#include "py_common.h"

namespace magcnn::py_binding {
namespace {

namespace fs = std::filesystem;
using Direction = std::optional<std::array<double, 3>>;

class PyModel {
 public:
  static std::unique_ptr<PyModel> load(const std::string& path) {
    std::error_code ec;
    std::string file = path;
    if (fs::is_directory(path, ec)) {
      file = (fs::path(path) / "model.h5").string();
      MAGCNN_REQUIRE(fs::exists(file, ec), path << " is a folder without model.h5: give a model file or a run folder"
                                                << (fs::exists(fs::path(path) / "member_1", ec)
                                                        ? " (an ensemble's members are " + path + "/member_K)"
                                                        : std::string()));
    }
    auto m = std::make_unique<PyModel>();
    m->path_ = file;
    m->model_ = released([&] {
      const std::lock_guard<std::recursive_mutex> one_at_a_time(hdf5_calls());
      return load_model(file);
    });
    return m;
  }

  py::dict predict(py::handle field, py::object geometry, const std::string& unit, py::object directions, bool residual,
                   const std::string& device, int64_t batch_size, int64_t tile) {
    MAGCNN_REQUIRE(batch_size >= 1, "batch_size=" << batch_size << ": 1 or more maps per network pass");
    MAGCNN_REQUIRE(tile >= 0 && tile % 4 == 0, "tile=" << tile << ": 0 (whole maps) or a multiple of 4 model pixels");
    const MapsArgument maps = maps_argument(field, "field", false);
    const int64_t n = maps.n, plane = maps.ny * maps.nx;
    MapGrid grid;
    grid.ny = maps.ny;
    grid.nx = maps.nx;
    const MapUnit map_unit = parse_map_unit(unit);
    grid.normalized = map_unit == MapUnit::Normalized;
    if (grid.normalized) {
      MAGCNN_REQUIRE(geometry.is_none(), "geometry= does not apply to unit='normalized': such maps are on the model's grid "
                                         "(1 pixel = d) with its t/d, as a training set's");
      grid.geometry = FilmGeometry{1.0, 1.0, model_.config.data.thickness_over_standoff, 1.0};
    } else {
      MAGCNN_REQUIRE(!geometry.is_none(), "geometry=magcnn.Geometry(pixel_size_m=..., standoff_m=..., thickness_m=..., Ms_A_per_m=...) "
                                          "is needed for maps in " << unit);
      grid.geometry = cast_argument<FilmGeometry>(geometry, "geometry", "a magcnn.Geometry");
      grid.tesla_per_unit = tesla_per(map_unit);
    }
    std::vector<Direction> known(static_cast<std::size_t>(n));
    if (!directions.is_none()) {
      const MapsArgument d = maps_argument(py::module_::import("numpy").attr("reshape")(directions, py::make_tuple(1, -1, 3)),
                                           "directions", true);
      MAGCNN_REQUIRE(d.ny == n && d.nx == 3, "directions: " << n << " unit vectors [" << n << ", 3] (one per map), got "
                                                            << d.ny * d.nx << " values");
      for (int64_t i = 0; i < n; ++i) {
        const double* v = d.data<double>() + 3 * i;
        const double norm = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
        MAGCNN_REQUIRE(std::isfinite(norm) && norm > 0, "directions[" << i << "] has no direction: give a vector of non-zero, finite length");
        known[static_cast<std::size_t>(i)] = std::array<double, 3>{v[0] / norm, v[1] / norm, v[2] / norm};
      }
    }
    std::string why;
    auto backend = released([&] { return open_backend(device, &why); });
    InferenceOptions options;
    options.predictor.max_batch = batch_size;
    options.predictor.tile = tile;
    options.predictor.expected_maps = n;
    options.residual = residual;
    const TargetKind target = model_.config.data.target;
    const int64_t channels = target_channels(target);
    // The prediction, and its planes copied out one by one.
    require_result_memory(2.0 * static_cast<double>(checked_product({n, channels, plane, 4}, "the prediction")),
                          "the prediction of " + std::to_string(n) + " map(s)");
    auto prediction = new_array<float>({n, channels, maps.ny, maps.nx});
    float* out = mutable_data(prediction);
    std::vector<ResidualReport> reports(static_cast<std::size_t>(n));
    released([&] {
      check_finite_maps(maps.data<float>(), n * plane, maps.ny, maps.nx, 0, "field");
      Inference inference(*backend, model_, grid, options);
      // Chunks of whole passes, as magcnn-infer reads them: the same passes, the same bits; a stop
      // between two of them.
      const int64_t chunk = inference.maps_per_chunk();
      for (int64_t first = 0; first < n; first += chunk) {
        throw_if_interrupted();
        const int64_t count = std::min(chunk, n - first);
        inference.run(maps.data<float>() + first * plane, count, known.data() + first, out + first * plane * channels,
                      reports.data() + first, first);
      }
    });
    py::dict result;
    py::module_ np = py::module_::import("numpy");
    const auto plane_of = [&](int64_t c) {
      py::object p = prediction[py::make_tuple(py::slice(py::none(), py::none(), py::none()), c)];
      if (!maps.batched) p = p[py::int_(0)];
      return np.attr("ascontiguousarray")(p);
    };
    if (target == TargetKind::Vector) {
      result["mx"] = plane_of(0);
      result["my"] = plane_of(1);
      result["mz"] = plane_of(2);
    } else {
      result[target == TargetKind::Polar ? "theta" : "m"] = plane_of(0);
    }
    if (residual) {
      auto l2 = new_array<double>({n}), theta = new_array<double>({n}), phi = new_array<double>({n}), scale = new_array<double>({n});
      auto fitted = new_array<bool>({n});
      double* p[4] = {mutable_data(l2), mutable_data(theta), mutable_data(phi), mutable_data(scale)};
      bool* f = mutable_data(fitted);
      for (int64_t i = 0; i < n; ++i) {
        const ResidualReport& r = reports[static_cast<std::size_t>(i)];
        p[0][i] = r.relative_l2;
        p[1][i] = r.theta_rad;
        p[2][i] = r.phi_rad;
        p[3][i] = r.scale;
        f[i] = r.fitted;
      }
      result["residual_relative_l2"] = l2;
      result["residual_theta_rad"] = theta;
      result["residual_phi_rad"] = phi;
      result["residual_scale"] = scale;
      result["residual_direction_fitted"] = fitted;
    }
    result["device"] = backend->description();
    return result;
  }

  const ModelFile& file() const { return model_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  ModelFile model_;
};

}  // namespace

void bind_model(py::module_& m) {
  py::class_<PyModel>(m, "Model", R"(A trained model (magcnn-train's model.h5), for predictions as magcnn-infer makes them.

Model.load(path): a model file or a run folder. Its properties say what it predicts and how it was trained.)")
      .def_static("load", &PyModel::load, py::arg("path"), "Reads and checks a model file (or RUN_DIR/model.h5).")
      .def("predict", &PyModel::predict, py::arg("field"), py::kw_only(), py::arg("geometry") = py::none(), py::arg("unit") = "T",
           py::arg("directions") = py::none(), py::arg("residual") = true, py::arg("device") = "auto", py::arg("batch_size") = 256,
           py::arg("tile") = 0,
           R"(The magnetization of field maps [H, W] or [N, H, W], as magcnn-infer predicts it (the same bits on the CPU).

field: the measured field component the model was trained on (Bz for most), in `unit`: "T", "G", or
"normalized" (b = Bz 2d/(mu0 Ms t) on the model's grid, as a training set holds it; then no geometry).
geometry: a magcnn.Geometry for maps in T or G. Each map is resampled onto the model's grid (1 pixel =
the standoff d), predicted whole (tiled when large; tile= forces a tile side), resampled back.
directions: [N, 3], the known direction of each map's uniform magnetization (else fitted). residual:
forward the prediction with the exact model and compare with the field; a shape or polar prediction
is forwarded magnetized along one direction per map (the given one, or the best-fitting one), so a
map whose film is magnetized along several directions (domains) cannot be explained by it and its
residual says so (near 1); a vector model's prediction is forwarded as it is.

Returns a dict: "m" (shape target, |m|), "theta" (polar target, radians) or "mx", "my", "mz" (vector
target), float32 of the field's shape; with the residual, float64 [N] "residual_relative_l2"
(||B(prediction) - field|| / ||field||), "residual_theta_rad", "residual_phi_rad" (the direction used),
"residual_scale" (a fitted amplitude, 1 when known) and bool [N] "residual_direction_fitted"; "device".
Float32 C-contiguous maps are read in place, others converted once. Releases the GIL; Ctrl-C stops it.)")
      .def_property_readonly("path", &PyModel::path)
      .def_property_readonly("target", [](const PyModel& p) { return std::string(target_kind_name(p.file().config.data.target)); })
      .def_property_readonly("channels", [](const PyModel& p) { return target_channels(p.file().config.data.target); })
      .def_property_readonly("field_axis", [](const PyModel& p) { return parse_field_axis(p.file().config.data.field_axis).text(); })
      .def_property_readonly("thickness_over_standoff", [](const PyModel& p) { return p.file().config.data.thickness_over_standoff; })
      .def_property_readonly("trained_shape", [](const PyModel& p) { return std::make_pair(p.file().height, p.file().width); })
      .def_property_readonly("epochs", [](const PyModel& p) { return p.file().state.epoch; })
      .def_property_readonly("trained_on", [](const PyModel& p) { return p.file().data; })
      .def_property_readonly("trained_device", [](const PyModel& p) { return p.file().device; })
      .def_property_readonly("validation_mse", [](const PyModel& p) {
        const auto& h = p.file().state.history;
        return h.empty() ? py::object(py::none()) : py::object(py::float_(h.back().validation_mse));
      })
      .def_property_readonly("history", [](const PyModel& p) {
        py::list rows;
        for (const EpochRecord& r : p.file().state.history) rows.append(epoch_record(r));
        return rows;
      }, "one dict per epoch: epoch, train_mse, validation_mse, seconds");
}

}  // namespace magcnn::py_binding
