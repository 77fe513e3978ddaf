// magcnn-vector-study: how well the vector target recovers the direction of the magnetization, beside
// the seed's two targets, on the seed's data.
//
// One data set of the seed's generator (5000 samples by default; the first 3000 train, the last 2000
// validate, as magcnn-train splits them), its target made three ways: shape (|m|), polar (theta) and
// vector (mx, my, mz). A network of the seed's architecture is trained on each for the same epochs
// (the vector one with three identity outputs), then scored on the validation maps:
//   * the amplitude MSE: of the shape model's |m|, and of the vector model's |(mx, my, mz)|;
//   * the angle between predicted and true m at every film pixel (true |m| >= 0.5) and per shape (the
//     summed prediction over the film), median and 90th percentile, on shapes larger than 2 d across
//     (both semi-axes above d) and on all;
//   * the polar-angle error |theta - theta_true| at the same pixels, for the polar model and the vector
//     model alike (the polar target gives no azimuth: its error is a lower bound on its angular error).
// Writes vector.txt and the three models into --out (a folder).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "../apps/cli.h"
#include "magcnn/atomic_output.h"
#include "magcnn/direction_errors.h"
#include "magcnn/generator.h"
#include "magcnn/interrupt.h"
#include "magcnn/model_io.h"
#include "magcnn/predictor.h"
#include "magcnn/trainer.h"
#include "generated_set.h"

namespace {

using namespace magcnn;

template <class T>
std::vector<T> rows(const std::vector<T>& v, int64_t per, int64_t first, int64_t count) {
  return std::vector<T>(v.begin() + first * per, v.begin() + (first + count) * per);
}

double mse(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return s / static_cast<double>(a.size());
}

// The part of the MSE over all pixels that comes from the pixels off the film (truth 0).
double off_film_mse(const std::vector<float>& a, const std::vector<float>& truth) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += truth[i] == 0 ? double(a[i]) * a[i] : 0.0;
  return s / static_cast<double>(a.size());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Trains the shape, polar and vector targets on one data set of the seed's generator and measures how well each "
               "recovers the amplitude and the direction of the magnetization; writes vector.txt and the models into --out.",
               "magcnn-vector-study"};
  app::Common common;
  app::add_common_flags(app, common, true);
  int64_t epochs = 20, count = 5000, ensemble = 1;
  app.add_option("--epochs", epochs, "training epochs per target")->check(app::integer_range(1, 10000));
  app.add_option("--ensemble", ensemble, "vector models trained from seeds seed, seed + 1, ...; the mean of their predictions is scored")
      ->check(app::integer_range(1, 100));
  app.add_option("--count", count, "samples (training.validation_fraction of them validate)")->check(app::integer_range(8, int64_t{1} << 24));
  return app::run(app, argc, argv, [&] {
    namespace fs = std::filesystem;
    MAGCNN_REQUIRE(!fs::exists(common.out) || fs::is_directory(common.out), "--out " << common.out << " exists and is not a folder");
    fs::create_directories(common.out);
    const Config config = app::load_config(common);
    auto backend = app::open_backend(common);
    const int64_t side = config.data.img_size, plane = side * side;
    const int64_t n_val = static_cast<int64_t>(std::llround(static_cast<double>(count) * config.training.validation_fraction));
    const int64_t n_train = count - n_val;
    MAGCNN_REQUIRE(n_val >= 1 && n_train >= 1, "--count " << count << " leaves no training or no validation samples");

    std::vector<float> amplitude;        // the validation maps' true |m|
    std::vector<double> directions;      // [n_val, 3]
    std::vector<bool> large;             // both semi-axes above d
    std::vector<float> predictions[3];   // shape, polar, vector on the validation maps
    double validation_mse[3] = {};
    // The shape and polar models, then the vector model (or the ensemble's members, averaged).
    std::vector<TargetKind> targets{TargetKind::Shape, TargetKind::Polar};
    for (int64_t k = 0; k < ensemble; ++k) targets.push_back(TargetKind::Vector);
    for (std::size_t run = 0; run < targets.size(); ++run) {
      const int t = static_cast<int>(std::min<std::size_t>(run, 2));
      const int64_t member = static_cast<int64_t>(run) - 2;  // the vector model's member (0 ...)
      throw_if_interrupted();
      GeneratorSettings g = config.data;
      g.count = count;
      g.target = targets[t];
      const bench::GeneratedSet set = bench::generate_set(*backend, g);
      const int64_t C = target_channels(targets[t]);
      if (t == 0) {
        amplitude = rows(set.target, plane, n_train, n_val);
        directions = rows(set.directions, 3, n_train, n_val);
        for (int64_t i = n_train; i < count; ++i) {
          const double* p = set.params.data() + i * kStoredEllipseParams;
          large.push_back(p[kern::kSemiAxisA] > 1 && p[kern::kSemiAxisB] > 1);
        }
      }
      Config c = config;
      c.data.target = targets[t];
      c.data.count = count;
      if (member > 0) c.training.seed += static_cast<uint64_t>(member);
      fit_network_to_target(c.network, targets[t]);
      const NetworkSpec spec = NetworkSpec::from(c.network);
      Trainer trainer(*backend, spec, TrainSettings::from(c.training), side, side, n_train, n_val);
      trainer.train_inputs().upload(rows(set.b, plane, 0, n_train));
      trainer.train_targets().upload(rows(set.target, C * plane, 0, n_train));
      trainer.validation_inputs().upload(rows(set.b, plane, n_train, n_val));
      trainer.validation_targets().upload(rows(set.target, C * plane, n_train, n_val));
      trainer.initialize();
      while (static_cast<int64_t>(trainer.history().size()) < epochs) {
        trainer.run_epoch([] { return interrupt_signal() != 0; }, nullptr);
        throw_if_interrupted();
        if (trainer.redraw_if_dead()) app::say(common, std::string("  ") + target_kind_name(targets[t]) + ": a dead start, drawn again");
      }
      validation_mse[t] += trainer.history().back().validation_mse / static_cast<double>(t == 2 ? ensemble : 1);
      char line[200];
      std::snprintf(line, sizeof line, "  %s: validation MSE %.4e after %lld epochs (%.1f s)", target_kind_name(targets[t]),
                    trainer.history().back().validation_mse,
                    static_cast<long long>(epochs), trainer.state().seconds);
      app::say(common, line);
      const std::string model_path =
          (fs::path(common.out) / (std::string(target_kind_name(targets[t])) + (member > 0 ? "_" + std::to_string(member + 1) : "") + ".h5"))
              .string();
      save_model(model_path, c, trainer.parameters(), trainer.state(), side, side, backend->description());
      Predictor predictor(*backend, load_model(model_path), side, side);
      std::vector<float> predicted(static_cast<std::size_t>(n_val * C * plane));
      predictor.predict(rows(set.b, plane, n_train, n_val).data(), n_val, predicted.data());
      // An ensemble's members: their mean.
      predictions[t].resize(predicted.size(), 0.0f);
      const float weight = 1.0f / static_cast<float>(t == 2 ? ensemble : 1);
      for (std::size_t i = 0; i < predicted.size(); ++i) predictions[t][i] += weight * predicted[i];
    }

    // The vector model's amplitude, beside the shape model's.
    std::vector<float> vector_amplitude(static_cast<std::size_t>(n_val * plane));
    for (int64_t i = 0; i < n_val; ++i)
      for (int64_t p = 0; p < plane; ++p) {
        const float* m = predictions[2].data() + 3 * i * plane + p;
        vector_amplitude[static_cast<std::size_t>(i * plane + p)] = std::sqrt(m[0] * m[0] + m[plane] * m[plane] + m[2 * plane] * m[2 * plane]);
      }
    const double shape_mse = mse(predictions[0], amplitude), vector_amplitude_mse = mse(vector_amplitude, amplitude);
    int64_t large_count = 0;
    for (bool l : large) large_count += l ? 1 : 0;

    std::string table = "# " + backend->description() + "; " + std::to_string(count) + " samples (" + std::to_string(n_train) +
                        " train, " + std::to_string(n_val) + " validate), " + std::to_string(epochs) + " epochs a target, batch " +
                        std::to_string(config.training.batch_size) + ", learning rate " + std::to_string(config.training.learning_rate) +
                        ", schedule " + config.training.schedule + (ensemble > 1 ? ", vector: an ensemble of " + std::to_string(ensemble) : "") + "\n";
    char line[400];
    std::snprintf(line, sizeof line, "validation MSE: shape %.4e, polar %.4e, vector %.4e (over mx, my, mz%s)\n", validation_mse[0],
                  validation_mse[1], validation_mse[2], ensemble > 1 ? "; the members' mean MSE; scored below: their mean prediction" : "");
    table += line;
    std::snprintf(line, sizeof line, "amplitude MSE: shape model %.4e (%.4e of it off the film), vector model |m| %.4e (%.4e off the film); ratio %.2f\n",
                  shape_mse, off_film_mse(predictions[0], amplitude), vector_amplitude_mse, off_film_mse(vector_amplitude, amplitude),
                  vector_amplitude_mse / shape_mse);
    table += line;
    table += "# shapes, scored, angle_pixel_median_deg, angle_pixel_p90_deg, angle_shape_median_deg, angle_shape_p90_deg, "
             "polar_vector_median_deg, polar_vector_p90_deg, polar_polar_model_median_deg, polar_polar_model_p90_deg\n";
    for (const bool only_large : {true, false}) {
      const std::vector<bool> use = only_large ? large : std::vector<bool>{};
      const DirectionErrors v = vector_direction_errors(predictions[2].data(), amplitude.data(), directions.data(), n_val, side, side, use);
      const DirectionErrors p = polar_direction_errors(predictions[1].data(), amplitude.data(), directions.data(), n_val, side, side, use);
      std::snprintf(line, sizeof line, "%s, %lld maps / %lld pixels, %.2f, %.2f, %.2f, %.2f, %.2f, %.2f, %.2f, %.2f\n",
                    only_large ? "larger than 2 d across" : "all", static_cast<long long>(only_large ? large_count : n_val),
                    static_cast<long long>(v.pixel.count), v.pixel.median_deg, v.pixel.p90_deg, v.shape.median_deg, v.shape.p90_deg,
                    v.polar.median_deg, v.polar.p90_deg, p.polar.median_deg, p.polar.p90_deg);
      table += line;
    }
    std::fputs(table.c_str(), stdout);
    const std::string txt = (fs::path(common.out) / "vector.txt").string();
    write_text_atomically(txt, table);
    app::say(common, "wrote " + txt);
  });
}
