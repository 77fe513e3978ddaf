// magcnn.Generator: the seed's training samples, batch by batch, as NumPy arrays named as in a training
// set file (magcnn-generate): the same seed gives the same samples as the program.
#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "bindings.h"
#include "magcnn/config.h"
#include "magcnn/dataset_io.h"
#include "magcnn/generator.h"
#include "overrides.h"
#include "py_common.h"

namespace magcnn::py_binding {
namespace {

class PyGenerator {
 public:
  PyGenerator(const GeneratorSettings& settings, const std::string& device) : settings_(settings) {
    settings_.validate();
    released([&] {
      backend_ = open_backend(device, &why_);
      generator_ = std::make_unique<Generator>(*backend_, settings_);
    });
    field_name_ = field_dataset_name(parse_field_axis(settings_.field_axis));
  }

  py::dict next(int64_t n) {
    MAGCNN_REQUIRE(n >= 1 && n <= GeneratorLimits::kMaxCount, "n=" << n << ": 1 or more samples");
    const int64_t side = settings_.img_size, plane = side * side, channels = target_channels(settings_.target);
    require_result_memory(static_cast<double>(checked_product({n, plane, 1 + channels, 4}, "the samples")) +
                              static_cast<double>(n) * kStoredEllipseParams * 8,
                          std::to_string(n) + " samples");
    auto b = new_array<float>({n, side, side});
    auto m = new_array<float>(channels == 1 ? std::vector<int64_t>{n, side, side} : std::vector<int64_t>{n, channels, side, side});
    static const char* const kParams[kStoredEllipseParams] = {"theta", "phi", "ellipse_a", "ellipse_b", "ellipse_tilt", "ellipse_xc",
                                                              "ellipse_yc"};
    std::vector<py::array_t<double>> params;
    std::vector<double*> param_data;
    for (int k = 0; k < kStoredEllipseParams; ++k) {
      params.push_back(new_array<double>({n}));
      param_data.push_back(mutable_data(params.back()));
    }
    float* b_out = mutable_data(b);
    float* m_out = mutable_data(m);
    // Samples drawn count even when a stop ends the call: the sequence has moved on by them.
    int64_t done = 0;
    struct Count {
      int64_t& drawn;
      const int64_t& done;
      ~Count() { drawn += done; }
    } count{drawn_, done};
    released([&] {
      const OneCallAtATime::Held one_call(busy_);  // the generator's sequence and buffers
      SampleBatch batch;
      for (; done < n; done += batch.count) {
        throw_if_interrupted();
        generator_->next(std::min(generator_->batch_capacity(), n - done), batch);
        std::memcpy(b_out + done * plane, batch.b.data(), batch.b.size() * sizeof(float));
        std::memcpy(m_out + done * plane * channels, batch.target.data(), batch.target.size() * sizeof(float));
        for (int64_t i = 0; i < batch.count; ++i)
          for (int k = 0; k < kStoredEllipseParams; ++k)
            param_data[static_cast<std::size_t>(k)][done + i] = batch.params[static_cast<std::size_t>(i * kStoredEllipseParams + k)];
      }
    });
    py::dict out;
    out[py::str(field_name_)] = b;
    out["m"] = m;
    for (int k = 0; k < kStoredEllipseParams; ++k) out[kParams[k]] = params[static_cast<std::size_t>(k)];
    return out;
  }

  void restart(uint64_t seed) {
    released([&] {
      const OneCallAtATime::Held one_call(busy_);
      generator_->restart(seed);
    });
    settings_.seed = seed;
    drawn_ = 0;
  }

  const GeneratorSettings& settings() const { return settings_; }
  std::string device() const { return backend_->description(); }
  std::string field_name() const { return field_name_; }
  int64_t drawn() const { return drawn_; }

 private:
  GeneratorSettings settings_;
  std::unique_ptr<Backend> backend_;  // before the generator: destroyed after it
  std::string why_, field_name_;
  std::unique_ptr<Generator> generator_;
  int64_t drawn_ = 0;
  OneCallAtATime busy_;  // one call at a time draws from the sequence
};

}  // namespace

GeneratorSettings generator_settings(py::handle settings, const py::dict& keys) {
  GeneratorSettings s = default_config().data;
  if (py::isinstance<py::str>(settings)) {
    s = load_config(settings.cast<std::string>()).data;
  } else if (py::isinstance<py::dict>(settings)) {
    apply_data_keys(s, settings.cast<py::dict>());
  } else if (py::isinstance<GeneratorSettings>(settings)) {
    s = settings.cast<GeneratorSettings>();
  } else {
    MAGCNN_REQUIRE(settings.is_none(), "settings: a configuration file's path, a dict of [data] keys, a GeneratorSettings or None, not "
                                           << std::string(py::str(settings.get_type().attr("__name__"))));
  }
  apply_data_keys(s, keys);
  s.validate();
  return s;
}

void apply_data_keys(GeneratorSettings& s, const py::dict& keys) {
  app::NoiseOverrides noise;
  for (const auto& [key_object, value] : keys) {
    const std::string key = py::str(key_object);
    const auto number = [&]() { return cast_argument<double>(value, key, "a number"); };
    const auto whole = [&]() { return whole_argument(value, key); };
    const auto text = [&]() { return cast_argument<std::string>(value, key, "a string"); };
    if (key == "count") s.count = whole();
    else if (key == "seed") s.seed = seed_argument(value, key);
    else if (key == "img_size") s.img_size = whole();
    else if (key == "finer_grid") s.finer_grid = whole();
    else if (key == "rmax") s.rmax = number();
    else if (key == "thickness_over_standoff") s.thickness_over_standoff = number();
    else if (key == "target") s.target = parse_target_kind(text());
    else if (key == "method") s.method = parse_forward_method(text());
    else if (key == "field_axis") s.field_axis = parse_field_axis(text()).text();
    else if (key == "batch") s.batch = whole();
    else if (key == "noise_rms") noise.relative_rms = number();
    else if (key == "noise_background") noise.background = number();
    else if (key == "noise_tesla") noise.tesla_rms = number();
    else if (key == "noise_Ms_A_per_m") noise.Ms_A_per_m = number();
    else
      throw InvalidInput("unknown data setting '" + key +
                         "': count, seed, img_size, finer_grid, rmax, thickness_over_standoff, target, method, field_axis, batch, "
                         "noise_rms, noise_background, noise_tesla, noise_Ms_A_per_m");
  }
  app::apply_noise(noise, s.noise, python_spelling);
}

void bind_generator(py::module_& m) {
  py::class_<GeneratorSettings>(m, "GeneratorSettings", "The [data] section of a configuration (see Generator).")
      .def(py::init([](py::handle settings, const py::kwargs& keys) { return generator_settings(settings, keys); }),
           py::arg("settings") = py::none())
      .def_readonly("count", &GeneratorSettings::count)
      .def_readonly("seed", &GeneratorSettings::seed)
      .def_readonly("img_size", &GeneratorSettings::img_size)
      .def_readonly("finer_grid", &GeneratorSettings::finer_grid)
      .def_readonly("rmax", &GeneratorSettings::rmax)
      .def_readonly("thickness_over_standoff", &GeneratorSettings::thickness_over_standoff)
      .def_property_readonly("target", [](const GeneratorSettings& s) { return std::string(target_kind_name(s.target)); })
      .def_property_readonly("method", [](const GeneratorSettings& s) { return std::string(forward_method_name(s.method)); })
      .def_readonly("field_axis", &GeneratorSettings::field_axis)
      .def_property_readonly("noise_rms", [](const GeneratorSettings& s) { return s.noise.relative_rms; })
      .def_property_readonly("noise_background", [](const GeneratorSettings& s) { return s.noise.background; })
      .def_property_readonly("noise_tesla", [](const GeneratorSettings& s) { return s.noise.tesla_rms; })
      .def_property_readonly("noise_Ms_A_per_m", [](const GeneratorSettings& s) { return s.noise.Ms_A_per_m; })
      .def_readonly("batch", &GeneratorSettings::batch);

  py::class_<PyGenerator>(m, "Generator", R"(The seed's training samples (DESIGN.md section 2), as magcnn-generate makes them.

Generator(settings=None, *, device="auto", **keys)

settings: None (the seed's values), a configuration file's path (its [data] section), a dict of [data]
keys or a GeneratorSettings; keys override them: count, seed, img_size, finer_grid, rmax,
thickness_over_standoff, target ("shape", "polar", "vector"), method, field_axis, batch, noise_rms,
noise_background, noise_tesla, noise_Ms_A_per_m. The same seed gives the same samples as
magcnn-generate, on any device and however they are split into calls of next().)")
      .def(py::init([](py::handle settings, const std::string& device, const py::kwargs& keys) {
             return std::make_unique<PyGenerator>(generator_settings(settings, keys), device);
           }),
           py::arg("settings") = py::none(), py::kw_only(), py::arg("device") = "auto")
      .def("next", &PyGenerator::next, py::arg("n"),
           R"(The next n samples of the sequence, as a dict of NumPy arrays named as in a training set file:

the normalized field ("Bz", or "Bx", "By", "Bnv" for another field_axis) float32 [n, H, W], b = Bz 2d/(mu0 Ms t);
"m", the target, float32 [n, H, W] (shape: |m|; polar: theta in radians inside the film) or [n, 3, H, W]
(vector: mx, my, mz); and float64 [n] each: "theta", "phi" (the direction, radians), "ellipse_a",
"ellipse_b" (semi-axes, in standoffs), "ellipse_tilt" (radians), "ellipse_xc", "ellipse_yc" (the centre,
in standoffs from the map's centre). Releases the GIL; Ctrl-C stops it between batches (the samples
drawn until then are used up: `drawn` counts them).)")
      .def("restart", &PyGenerator::restart, py::arg("seed"), "Starts the sequence of another seed from its beginning.")
      .def_property_readonly("settings", &PyGenerator::settings)
      .def_property_readonly("device", &PyGenerator::device)
      .def_property_readonly("field_name", &PyGenerator::field_name, "the key of the field in next()'s dict")
      .def_property_readonly("drawn", &PyGenerator::drawn, "samples drawn since the seed's start");
}

}  // namespace magcnn::py_binding
