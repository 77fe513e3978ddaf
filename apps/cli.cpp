// Shared command-line plumbing of the magcnn programs.
#include "cli.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <optional>
#include <sstream>

#include "magcnn/atomic_output.h"
#include "magcnn/device.h"
#include "magcnn/interrupt.h"
#include "magcnn/log.h"
#include "magcnn/memory.h"

namespace magcnn::app {

void add_common_flags(CLI::App& app, Common& common, bool out_required) {
  app.add_option("--config", common.config, "TOML configuration (default: configs/seed.toml, the seed's values)");
  app.add_option("--device", common.device, "auto (the GPU when one works), cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  auto* out = app.add_option("--out", common.out, "output path");
  if (out_required) out->required();
  app.add_flag("--quiet", common.quiet, "print errors only");
}

Config load_config(const Common& common) {
  const std::string path = common.config.empty() ? default_config_path() : common.config;
  Config c = path.empty() ? default_config() : magcnn::load_config(path);
  if (!common.quiet) std::printf("config: %s\n", c.source.c_str());
  return c;
}

void check_output(const Common& common, const std::vector<std::string>& inputs) {
  if (check_output_path(common.out, inputs)) say(common, "replacing the existing file " + common.out);
}

std::unique_ptr<Backend> open_backend(const Common& common) {
  std::string why;
  auto backend = make_backend(parse_device_choice(common.device), &why);
  if (!common.quiet) {
    std::printf("%s\n", why.c_str());
    std::fflush(stdout);
  }
  return backend;
}

// Flushed at once: a log being followed (tee, tail -f) shows each line when it happens, in order with
// the progress lines on stderr.
void say(const Common& common, const std::string& line) {
  if (common.quiet) return;
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}


void GeometryFlags::add(CLI::App& app) {
  o_pixel_ = app.add_option("--pixel-size", pixel_, "pixel size h of the maps, metres");
  o_standoff_ = app.add_option("--standoff", standoff_, "sensor height d above the film's top surface, metres");
  o_thickness_ = app.add_option("--thickness", thickness_, "film thickness t, metres");
  o_Ms_ = app.add_option("--Ms", Ms_, "saturation magnetization, A/m");
}

std::vector<const CLI::Option*> GeometryFlags::given() const {
  std::vector<const CLI::Option*> out;
  for (const CLI::Option* o : {o_pixel_, o_standoff_, o_thickness_, o_Ms_})
    if (o != nullptr && *o) out.push_back(o);
  return out;
}

FilmGeometry GeometryFlags::resolve(const GeometryAttributes& a, const ForwardConfig& c, const std::string& file) const {
  const auto flag = [](const CLI::Option* o, double v) { return o != nullptr && *o ? std::optional<double>(v) : std::nullopt; };
  FilmGeometry g;
  g.pixel_size_m = resolve_geometry_value("pixel_size_m", "--pixel-size", flag(o_pixel_, pixel_), a.pixel_size_m, c.pixel_size_m, file);
  g.standoff_m = resolve_geometry_value("standoff_m", "--standoff", flag(o_standoff_, standoff_), a.standoff_m, c.standoff_m, file);
  g.thickness_m =
      resolve_geometry_value("thickness_m", "--thickness", flag(o_thickness_, thickness_), a.thickness_m, c.thickness_m, file);
  g.Ms_A_per_m = resolve_geometry_value("Ms_A_per_m", "--Ms", flag(o_Ms_, Ms_), a.Ms_A_per_m, c.Ms_A_per_m, file);
  return g;
}

namespace {

std::string plain(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

// The whole text as a number, or false (trailing characters, empty, out of double's range).
bool parse_number(const std::string& text, double& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && errno != ERANGE;
}

}  // namespace

CLI::Validator number_range(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        double v = 0;
        if (!parse_number(text, v) || !(v >= lo && v <= hi)) return "'" + text + "' is outside " + plain(lo) + ".." + plain(hi);
        return "";
      },
      "in " + plain(lo) + ".." + plain(hi));
}

CLI::Validator integer_range(int64_t lo, int64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        const long long v = std::strtoll(text.c_str(), &end, 10);
        if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || v < lo || v > hi)
          return "'" + text + "' is not a whole number in " + std::to_string(lo) + ".." + std::to_string(hi);
        return "";
      },
      "in " + std::to_string(lo) + ".." + std::to_string(hi));
}

void NoiseFlags::add(CLI::App& app) {
  // Ranges are checked by NoiseSettings::validate, with the message every other source of a level gets.
  o_rms = app.add_option("--noise-rms", rms, "white Gaussian noise on every field, relative to each map's RMS field (0.05: 5%) [data.noise_rms]");
  o_background = app.add_option("--noise-background", background,
                                "a random plane offset on every field, relative to each map's RMS field [data.noise_background]");
  o_tesla = app.add_option("--noise-tesla", tesla, "white Gaussian noise of this RMS in tesla on every field, with --noise-Ms [data.noise_tesla]");
  o_Ms = app.add_option("--noise-Ms", Ms, "the films' Ms in A/m, which a noise level in tesla needs [data.noise_Ms_A_per_m]");
}

NoiseOverrides NoiseFlags::given_values() const {
  NoiseOverrides o;
  if (*o_rms) o.relative_rms = rms;
  if (*o_background) o.background = background;
  if (*o_tesla) o.tesla_rms = tesla;
  if (*o_Ms) o.Ms_A_per_m = Ms;
  return o;
}

void NoiseFlags::apply(NoiseSettings& noise) const { apply_noise(given_values(), noise); }

void apply_noise(const NoiseOverrides& given, NoiseSettings& noise, const Spelling& spell) {
  if (given.relative_rms) noise.relative_rms = *given.relative_rms;
  if (given.background) noise.background = *given.background;
  if (given.tesla_rms) noise.tesla_rms = *given.tesla_rms;
  if (given.Ms_A_per_m) noise.Ms_A_per_m = *given.Ms_A_per_m;
  // Each value checked alone, so that the message names the option whose value is wrong.
  const auto check = [&](const char* flag, const NoiseSettings& one) {
    try {
      one.validate();
    } catch (const InvalidInput& e) {
      throw InvalidInput(spell(flag) + ": " + e.what());
    }
  };
  if (given.relative_rms) check("--noise-rms", NoiseSettings{*given.relative_rms, 0});
  if (given.background) check("--noise-background", NoiseSettings{0, *given.background});
  if (given.tesla_rms) check("--noise-tesla", NoiseSettings{0, 0, *given.tesla_rms, 1.0});
  if (given.Ms_A_per_m) check("--noise-Ms", NoiseSettings{0, 0, 1e-9, *given.Ms_A_per_m});
  noise.validate();
}

std::string describe_noise(const NoiseSettings& noise) {
  if (!noise.any()) return "";
  char text[240];
  std::string s;
  if (noise.relative_rms > 0 || noise.background > 0) {
    std::snprintf(text, sizeof text, "white noise %.3g%% and background %.3g%% of each map's RMS field", 100 * noise.relative_rms,
                  100 * noise.background);
    s = text;
  }
  if (noise.tesla_rms > 0) {
    std::snprintf(text, sizeof text, "white noise of %.3g T RMS (films of Ms %.4g A/m)", noise.tesla_rms, noise.Ms_A_per_m);
    s += (s.empty() ? "" : ", and ") + std::string(text);
  }
  return s;
}

void MadeFolder::make(const std::filesystem::path& dir, const std::string& what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(dir, ec)) return;
  MAGCNN_REQUIRE(dir.parent_path().empty() || fs::is_directory(dir.parent_path(), ec),
                 "cannot make " << what << " " << dir.string() << ": " << dir.parent_path().string() << " does not exist");
  MAGCNN_REQUIRE(fs::create_directory(dir, ec), "cannot make " << what << " " << dir.string() << ": " << ec.message());
  path = dir;
}

MadeFolder::~MadeFolder() {
  std::error_code ignored;
  if (!path.empty() && std::filesystem::is_empty(path, ignored)) std::filesystem::remove(path, ignored);
}

std::filesystem::path ensemble_member_folder(const std::filesystem::path& root, int64_t k) {
  return root / ("member_" + std::to_string(k));
}

CLI::Option* add_target_option(CLI::App& app, std::string& target) {
  return app
      .add_option("--target", target,
                  "shape (|m|) | polar (theta inside the film) | vector (mx, my, mz: three output channels) [data.target]")
      ->check(CLI::IsMember({"shape", "polar", "vector"}));
}

std::string checked_field_axis(const std::string& text, const std::string& flag) {
  try {
    parse_field_axis(text);
  } catch (const InvalidInput& e) {
    throw InvalidInput(flag + ": " + e.what());
  }
  return text;
}

uint64_t parse_seed(const std::string& text, const std::string& flag) {
  const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  errno = 0;
  const unsigned long long v = digits ? std::strtoull(text.c_str(), nullptr, 10) : 0;
  MAGCNN_REQUIRE(digits && errno != ERANGE,
                 flag << " " << text << ": a seed is a whole number from 0 to 18446744073709551615 (2^64 - 1)");
  return static_cast<uint64_t>(v);
}

int run(CLI::App& app, int argc, char** argv, const std::function<void()>& body, int rank) {
  const InterruptScope signals;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  const std::string who = rank > 0 ? app.get_name() + " (rank " + std::to_string(rank) + ")" : app.get_name();
  const auto fail = [&](const std::string& message) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: %s\n", who.c_str(), message.c_str());
  };
  try {
    body();
    return 0;
  } catch (const Interrupted& e) {
    if (rank == 0) fail(e.what());  // every rank stopped at the same step; rank 0 says what it wrote
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    fail("error: out of memory (" + human_bytes(static_cast<double>(host_memory_available())) +
         " available now): use smaller inputs or batches");
    return 1;
  } catch (const std::exception& e) {
    fail(std::string("error: ") + e.what());
    return 1;
  }
}

}  // namespace magcnn::app
