// magcnn-scaling: how each cost grows with its work, on one device. It measures four series, fits a
// power law to the upper half of each (where fixed costs no longer dominate), and writes a log-log plot
// of each and a table:
//   generation.png  seconds to generate N samples (N = 1 to --max-samples), the generator built;
//   forward.png     seconds per map of the exact forward model against the map side, spectra cached;
//   step.png        seconds per training step against the batch size (32 x 32 maps);
//   inference.png   seconds to predict one map against its side on the model's grid.
// Each point is the median of at least three timed runs after one warm-up, and of at least 0.2 s; a
// point whose warm-up alone takes 5 s or more (a million samples on a CPU) is timed once more, and the
// faster of the two runs is reported: cold caches are then a negligible part of it, and three more runs
// would add a quarter of an hour. The defaults span the whole range asked of the suite (1 to 1e6 samples,
// sides 32 to 4096): about 10 minutes on 2 CPU cores, under a minute on a GPU.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "../apps/cli.h"
#include "../tests/random_model.h"
#include "../tests/reference.h"
#include "magcnn/atomic_output.h"
#include "magcnn/figures.h"
#include "magcnn/forward_model.h"
#include "magcnn/generator.h"
#include "magcnn/interrupt.h"
#include "magcnn/predictor.h"
#include "magcnn/trainer.h"

namespace {

using namespace magcnn;
using Clock = std::chrono::steady_clock;

double seconds_of(Backend& backend, const std::function<void()>& work) {
  const auto start = Clock::now();
  work();
  backend.synchronize();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median_seconds(Backend& backend, const std::function<void()>& work) {
  const double warm_up = seconds_of(backend, work);
  if (warm_up >= 5.0) {
    throw_if_interrupted();
    return std::min(warm_up, seconds_of(backend, work));
  }
  std::vector<double> runs;
  double total = 0;
  while (runs.size() < 3 || (total < 0.2 && runs.size() < 1000)) {
    throw_if_interrupted();
    runs.push_back(seconds_of(backend, work));
    total += runs.back();
  }
  std::nth_element(runs.begin(), runs.begin() + static_cast<std::ptrdiff_t>(runs.size() / 2), runs.end());
  return runs[runs.size() / 2];
}

struct Series {
  std::string name, title, x_label, y_label;
  std::vector<double> x, y;
};

// Progress on the way: each point as it is measured (the longest take minutes on a CPU).
using Say = std::function<void(const std::string&)>;
void measured(Series& s, double x, double seconds, const Say& say) {
  s.x.push_back(x);
  s.y.push_back(seconds);
  char line[160];
  std::snprintf(line, sizeof line, "  %s: %g -> %.4g s", s.name.c_str(), x, seconds);
  say(line);
}

Series generation(Backend& backend, int64_t max_samples, const Say& say) {
  Series s{"generation", "data generation (seed's generator, 32 x 32, exact model)", "samples", "seconds", {}, {}};
  GeneratorSettings g;
  Generator gen(backend, g);
  for (int64_t n = 1; n <= max_samples; n *= 10) {
    measured(s, static_cast<double>(n), median_seconds(backend, [&] {
      gen.restart(1);
      for (int64_t done = 0; done < n;) {
        throw_if_interrupted();
        const int64_t k = std::min(gen.batch_capacity(), n - done);
        gen.next_on_device(k);
        done += k;
      }
    }), say);
  }
  return s;
}

Series forward(Backend& backend, int64_t max_side, const Say& say) {
  Series s{"forward", "exact forward model, one map, spectra cached", "map side (pixels)", "seconds", {}, {}};
  std::mt19937_64 rng(3);
  for (int64_t n = 32; n <= max_side; n *= 2) {
    ForwardModel model(backend, FilmGeometry{1, 1, 0.1, 1}, n, n, ForwardOptions{});
    const DType dt = model.dtype();
    Tensor m(backend, dt, Shape{1, n, n}), bz(backend, dt, Shape{1, n, n});
    if (dt == DType::F64) m.upload(test::uniform_values<double>(rng, n * n, 0.5)); else m.upload(test::uniform_values<float>(rng, n * n, 0.5));
    measured(s, static_cast<double>(n), median_seconds(backend, [&] { model.compute(m, m, m, bz); }), say);
  }
  return s;
}

Series steps(Backend& backend, const Say& say) {
  Series s{"step", "training step (gather, forward, loss, backward, Adam), 32 x 32", "batch size", "seconds", {}, {}};
  std::mt19937_64 rng(4);
  for (int64_t batch = 1; batch <= 256; batch *= 2) {
    const int64_t per_epoch = std::max<int64_t>(8, 256 / batch);
    TrainSettings t;
    t.batch_size = batch;
    t.validation_batch = 1;
    t.adam.learning_rate = 1e-4;
    Trainer trainer(backend, NetworkSpec{}, t, 32, 32, batch * per_epoch, 1);
    for (Tensor* x : {&trainer.train_inputs(), &trainer.train_targets(), &trainer.validation_inputs(), &trainer.validation_targets()})
      x->upload(test::uniform_values<float>(rng, x->numel(), 0.5));
    trainer.initialize();
    measured(s, static_cast<double>(batch), median_seconds(backend, [&] { trainer.run_epoch(nullptr, nullptr); }) / static_cast<double>(per_epoch),
             say);
  }
  return s;
}

Series inference(Backend& backend, int64_t max_side, const Say& say) {
  Series s{"inference", "inference, one map on the model's grid (the seed's network)", "map side (model pixels)", "seconds", {}, {}};
  const ModelFile model = test::random_model_file(5);
  std::mt19937_64 rng(5);
  for (int64_t n = 32; n <= max_side; n *= 2) {
    PredictorOptions o;
    o.expected_maps = 1;
    Predictor predictor(backend, model, n, n, o);
    const std::vector<float> b = test::uniform_values<float>(rng, n * n, 0.3);
    std::vector<float> out(b.size());
    measured(s, static_cast<double>(n), median_seconds(backend, [&] { predictor.predict(b.data(), 1, out.data()); }), say);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Measures how the cost of generation, the forward model, a training step and inference grows with the work, "
               "fits a power law to each and plots them (log-log PNGs) with a table, into --out (a folder).",
               "magcnn-scaling"};
  app::Common common;
  app::add_common_flags(app, common, true);
  int64_t max_samples = 1000000, max_side = 4096, max_infer_side = 4096;
  app.add_option("--max-samples", max_samples, "generation: up to this many samples (powers of 10)")->check(app::integer_range(10, int64_t{1} << 30));
  app.add_option("--max-side", max_side, "forward model: map sides up to this (powers of 2 from 32)")->check(app::integer_range(64, 16384));
  app.add_option("--max-infer-side", max_infer_side, "inference: model-grid sides up to this")->check(app::integer_range(64, 16384));
  return app::run(app, argc, argv, [&] {
    namespace fs = std::filesystem;
    MAGCNN_REQUIRE(!fs::exists(common.out) || fs::is_directory(common.out), "--out " << common.out << " exists and is not a folder");
    fs::create_directories(common.out);
    auto backend = app::open_backend(common);
    std::vector<Series> all;
    const Say say = [&](const std::string& line) { app::say(common, line); };
    say("generation ...");
    all.push_back(generation(*backend, max_samples, say));
    say("forward model ...");
    all.push_back(forward(*backend, max_side, say));
    say("training steps ...");
    all.push_back(steps(*backend, say));
    say("inference ...");
    all.push_back(inference(*backend, max_infer_side, say));

    std::string table = "# " + backend->description() + "\n# series, x, seconds\n";
    for (const Series& s : all) {
      // The upper half, where fixed costs no longer dominate; all points of a short series (two or three).
      const std::size_t from = s.x.size() >= 4 ? s.x.size() / 2 : 0;
      const PowerLaw fit = fit_power_law(s.x, s.y, from);
      char line[256];
      std::snprintf(line, sizeof line, "%s: exponent %.2f over x = %g to %g", s.name.c_str(), fit.exponent, s.x[from], s.x.back());
      app::say(common, line);
      table += std::string("# ") + line + "\n";
      for (std::size_t i = 0; i < s.x.size(); ++i) {
        std::snprintf(line, sizeof line, "%s, %g, %.6g\n", s.name.c_str(), s.x[i], s.y[i]);
        table += line;
      }
      const std::string png = (fs::path(common.out) / (s.name + ".png")).string();
      if (!plot_power_law(png, s.title + " - " + backend->description(), s.x_label, s.y_label, s.x, s.y, from, fit.exponent,
                          fit.prefactor))
        app::say(common, "this build has no PLplot: no plot of " + s.name);
    }
    const std::string path = (fs::path(common.out) / "scaling.txt").string();
    write_text_atomically(path, table);
    app::say(common, "wrote " + path + " and the plots beside it");
  });
}
