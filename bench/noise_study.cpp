// magcnn-noise-study: how the reconstruction error grows with the noise of the maps, for the network
// trained on noisy maps and for the standard alternative, Fourier inversion with the true direction
// given and its low-pass cut-off and regularization chosen by their best case on the very maps scored.
//
// For each noise level (white Gaussian noise, RMS relative to each map's RMS field): a network of the
// seed's architecture is trained on the seed's generated data (5000 samples, clean, noise drawn afresh
// every epoch) and scored on a fixed validation set of 1000 other samples with that noise (seed 777):
// the MSE of the predicted amplitude |m| against the truth. Fourier inversion is scored on the same noisy
// maps, its amplitude clipped to [0, 1] (which only helps it). Writes noise.txt and noise.png into --out.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "../apps/cli.h"
#include "magcnn/atomic_output.h"
#include "magcnn/field_noise.h"
#include "magcnn/figures.h"
#include "magcnn/fourier_inversion.h"
#include "magcnn/generator.h"
#include "magcnn/interrupt.h"
#include "magcnn/trainer.h"
#include "generated_set.h"

namespace {

using namespace magcnn;

using bench::GeneratedSet;
using bench::generate_set;

double mse(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
  return s / static_cast<double>(a.size());
}

struct FourierBest {
  double mse = INFINITY, cutoff = 0, epsilon = 0;
};

// The best cut-off and regularization for these maps, by their own truth (an oracle the network lacks).
FourierBest best_fourier(FourierInversion& inversion, const std::vector<float>& noisy, const GeneratedSet& v) {
  FourierBest best;
  std::vector<float> s(noisy.size());
  for (const double cutoff : {0.4, 0.6, 0.8, 1.0, 1.3, 1.7, 2.2, 3.1416}) {
    for (const double epsilon : {1e-4, 1e-3, 1e-2, 1e-1}) {
      throw_if_interrupted();
      const InversionSettings settings{cutoff, epsilon};
      inversion.invert(noisy.data(), v.directions.data(), v.count, settings, s.data());
      for (float& x : s) x = std::clamp(x, 0.0f, 1.0f);
      const double e = mse(s, v.target);
      if (e < best.mse) best = FourierBest{e, cutoff, epsilon};
    }
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Measures the reconstruction error against the noise level for the network trained on noisy maps and for Fourier "
               "inversion with the true direction and its best cut-off; writes noise.txt and noise.png into --out (a folder).",
               "magcnn-noise-study"};
  app::Common common;
  app::add_common_flags(app, common, true);
  std::vector<double> levels{0.0, 0.02, 0.05, 0.1, 0.2};
  int64_t epochs = 6, count = 5000, validation = 1000;
  app.add_option("--levels", levels, "noise levels (RMS relative to each map's RMS field)")->delimiter(',');
  app.add_option("--epochs", epochs, "training epochs per level")->check(app::integer_range(1, 10000));
  app.add_option("--count", count, "training samples")->check(app::integer_range(8, int64_t{1} << 24));
  app.add_option("--validation", validation, "validation samples (seed 777)")->check(app::integer_range(8, int64_t{1} << 20));
  return app::run(app, argc, argv, [&] {
    namespace fs = std::filesystem;
    MAGCNN_REQUIRE(!levels.empty(), "--levels: give at least one level");
    for (double r : levels) {
      try {
        NoiseSettings{r, 0}.validate();
      } catch (const InvalidInput& e) {
        throw InvalidInput(std::string("--levels: ") + e.what());
      }
    }
    MAGCNN_REQUIRE(!fs::exists(common.out) || fs::is_directory(common.out), "--out " << common.out << " exists and is not a folder");
    fs::create_directories(common.out);
    const Config config = app::load_config(common);
    auto backend = app::open_backend(common);
    GeneratorSettings g = config.data;
    g.count = count;
    g.noise = NoiseSettings{};
    app::say(common, "data ...");
    const GeneratedSet train = generate_set(*backend, g);
    g.count = validation;
    g.seed = 777;
    const GeneratedSet val = generate_set(*backend, g);
    const int64_t side = g.img_size;
    FourierInversion inversion(*backend, side, side, 1.0, g.thickness_over_standoff, validation);

    std::vector<double> cnn, fourier;
    std::string table = "# " + backend->description() + "; " + std::to_string(count) + " training samples, " + std::to_string(epochs) +
                        " epochs a level; " + std::to_string(validation) + " validation samples (seed 777)\n" +
                        "# noise, cnn_mse, fourier_mse, fourier_cutoff_rad_per_d, fourier_epsilon, fourier_over_cnn\n";
    for (const double level : levels) {
      throw_if_interrupted();
      const NoiseSettings noise{level, 0};
      TrainSettings t = TrainSettings::from(config.training);
      Trainer trainer(*backend, NetworkSpec::from(config.network), t, side, side, count, validation);
      trainer.train_inputs().upload(train.b);
      trainer.train_targets().upload(train.target);
      trainer.validation_inputs().upload(val.b);
      trainer.validation_targets().upload(val.target);
      FieldNoise field_noise(*backend, noise, std::max(count, validation), side, side, DType::F32);
      field_noise.apply(trainer.validation_inputs(), trainer.validation_inputs(), 0, 777, 0);
      Tensor clean(*backend, DType::F32, trainer.train_inputs().shape());
      clean.upload(train.b);
      trainer.set_epoch_data([&](int64_t epoch) { field_noise.apply(clean, trainer.train_inputs(), 0, g.seed, static_cast<uint64_t>(epoch) + 1); });
      trainer.initialize();
      for (int64_t e = 0; e < epochs; ++e) trainer.run_epoch([] { return interrupt_signal() != 0; }, nullptr);
      throw_if_interrupted();
      const double cnn_mse = trainer.history().back().validation_mse;
      const std::vector<float> noisy = trainer.validation_inputs().to_host<float>();
      const FourierBest f = best_fourier(inversion, noisy, val);
      cnn.push_back(cnn_mse);
      fourier.push_back(f.mse);
      char line[200];
      std::snprintf(line, sizeof line, "%.3g, %.4e, %.4e, %.3g, %.0e, %.2f", level, cnn_mse, f.mse, f.cutoff, f.epsilon, f.mse / cnn_mse);
      app::say(common, std::string("  ") + line);
      table += std::string(line) + "\n";
    }
    const std::string txt = (fs::path(common.out) / "noise.txt").string();
    write_text_atomically(txt, table);
    std::vector<double> percent;
    for (double r : levels) percent.push_back(100 * r);
    if (levels.size() >= 2 &&
        !plot_series((fs::path(common.out) / "noise.png").string(), "amplitude error against noise - " + backend->description(),
                     "noise (% of each map's RMS field)", "MSE of |m|",
                     percent, {PlotSeries{"CNN, trained on noisy maps", cnn}, PlotSeries{"Fourier inversion, true direction, best cut-off", fourier}}))
      app::say(common, "this build has no PLplot: no plot");
    app::say(common, "wrote " + txt);
  });
}
