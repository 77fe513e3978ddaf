// magcnn-generate: the seed's training set (random smoothed ellipses and their exact field) to HDF5.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "cli.h"
#include "magcnn/dataset_io.h"
#include "magcnn/generator.h"
#include "magcnn/interrupt.h"
#include "magcnn/memory.h"
#include "magcnn/progress.h"

int main(int argc, char** argv) {
  using namespace magcnn;
  using L = GeneratorLimits;
  CLI::App app{"Generates a training set: random smoothed ellipses magnetized along random directions, their exact "
               "normalized stray field b = Bz 2d/(mu0 Ms t) and the target, on the network grid.",
               "magcnn-generate"};
  app::Common common;
  app::add_common_flags(app, common, true);
  int64_t count = 0, img_size = 0, finer_grid = 0, batch = -1;
  std::string seed_text, target, method, axis;
  double rmax = 0, thickness = 0;
  auto* o_count = app.add_option("--count", count, "samples [data.count]")->check(app::integer_range(1, L::kMaxCount));
  auto* o_seed = app.add_option("--seed", seed_text, "random seed, 0 to 2^64 - 1 [data.seed]");
  auto* o_target = app::add_target_option(app, target);
  auto* o_img = app.add_option("--img-size", img_size, "network pixels per side [data.img_size]")
                    ->check(app::integer_range(L::kMinImgSize, L::kMaxImgSize));
  auto* o_fine = app.add_option("--finer-grid", finer_grid, "fine pixels per network pixel [data.finer_grid]")
                     ->check(app::integer_range(1, L::kMaxFinerGrid));
  auto* o_rmax = app.add_option("--rmax", rmax, "largest semi-axis, in standoffs [data.rmax]")
                     ->check(app::number_range(L::kMinRmax, L::kMaxRmax));
  auto* o_t = app.add_option("--thickness-over-standoff", thickness, "t/d [data.thickness_over_standoff]")
                  ->check(app::number_range(L::kMinThicknessOverStandoff, L::kMaxThicknessOverStandoff));
  auto* o_method = app.add_option("--method", method, "exact | spectral [data.method]")->check(CLI::IsMember({"exact", "spectral"}));
  auto* o_axis = app.add_option("--field-axis", axis, app::kFieldAxisHelp);
  app::NoiseFlags noise;
  noise.add(app);
  auto* o_batch = app.add_option("--batch", batch, "samples per device call, 0 = automatic [data.batch]")
                      ->check(app::integer_range(0, L::kMaxBatch));

  return app::run(app, argc, argv, [&] {
    Config config = app::load_config(common);
    GeneratorSettings& s = config.data;
    if (*o_count) s.count = count;
    if (*o_seed) s.seed = app::parse_seed(seed_text, "--seed");
    if (*o_target) s.target = parse_target_kind(target);
    if (*o_img) s.img_size = img_size;
    if (*o_fine) s.finer_grid = finer_grid;
    if (*o_rmax) s.rmax = rmax;
    if (*o_t) s.thickness_over_standoff = thickness;
    if (*o_method) s.method = parse_forward_method(method);
    if (*o_axis) s.field_axis = app::checked_field_axis(axis, "--field-axis");
    noise.apply(s.noise);
    if (*o_batch) s.batch = batch;
    s.validate();
    app::check_output(common);
    auto backend = app::open_backend(common);

    Generator generator(*backend, s);
    TrainingSetWriter writer(common.out, s, backend->description());
    char line[256];
    std::snprintf(line, sizeof line, "generating %lld samples, %lld x %lld (fine grid %lld), target %s, %s model, seed %llu, %lld per batch",
                  static_cast<long long>(s.count), static_cast<long long>(s.img_size), static_cast<long long>(s.img_size),
                  static_cast<long long>(s.img_size * s.finer_grid), target_kind_name(s.target), forward_method_name(s.method),
                  static_cast<unsigned long long>(s.seed), static_cast<long long>(generator.batch_capacity()));
    app::say(common, line);

    Progress progress("generate", s.count, "samples", !common.quiet);
    SampleBatch batch_out;
    double b_min = INFINITY, b_max = -INFINITY, b_abs = 0, covered = 0;
    for (int64_t done = 0; done < s.count; done += batch_out.count) {
      throw_if_interrupted();
      generator.next(std::min(generator.batch_capacity(), s.count - done), batch_out);
      writer.append(batch_out);
      for (const float v : batch_out.b) {
        b_min = std::min<double>(b_min, v);
        b_max = std::max<double>(b_max, v);
        b_abs += std::fabs(v);
      }
      // A pixel is on the film where any channel of its target is non-zero (|m|, theta, or m's components).
      const auto plane = static_cast<std::size_t>(s.img_size * s.img_size), channels = static_cast<std::size_t>(target_channels(s.target));
      for (std::size_t i = 0; i < batch_out.b.size(); ++i) {
        const std::size_t sample = i / plane, p = i % plane;
        bool on = false;
        for (std::size_t c = 0; c < channels; ++c) on = on || batch_out.target[(sample * channels + c) * plane + p] != 0;
        covered += on ? 1 : 0;
      }
      progress.update(done + batch_out.count);
    }
    writer.commit();
    progress.finish();
    const double pixels = static_cast<double>(s.count * s.img_size * s.img_size);
    std::snprintf(line, sizeof line, "wrote %s (%s): %lld samples in %.2f s (%.0f samples/s)", common.out.c_str(),
                  human_bytes(static_cast<double>(std::filesystem::file_size(common.out))).c_str(),
                  static_cast<long long>(s.count), progress.elapsed_s(), static_cast<double>(s.count) / progress.elapsed_s());
    app::say(common, line);
    std::snprintf(line, sizeof line, "  Bz (normalized): min %.4g, max %.4g, mean |b| %.4g; target non-zero on %.1f%% of pixels",
                  b_min, b_max, b_abs / pixels, 100.0 * covered / pixels);
    app::say(common, line);
  });
}
