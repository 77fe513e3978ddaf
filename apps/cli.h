// What every magcnn program shares: --config, --device, --out, --quiet, loading the configuration with
// flags over file over defaults, checking the output path before any work, choosing the backend, number
// flags whose errors read plainly, and turning any error or interrupting signal into one line and an
// exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "magcnn/backend.h"
#include "magcnn/config.h"
#include "magcnn/dataset_io.h"
#include "overrides.h"

namespace magcnn::app {

struct Common {
  std::string config;
  std::string device = "auto";
  std::string out;
  bool quiet = false;
};

// Adds the shared flags; --out is required when `out_required`.
void add_common_flags(CLI::App& app, Common& common, bool out_required);
// The configuration named by --config, else the default file, else the built-in defaults.
Config load_config(const Common& common);
// Checks --out before any work (check_output_path: not a directory, FIFO or device, not an input) and
// says when an existing file will be replaced.
void check_output(const Common& common, const std::vector<std::string>& inputs = {});
// The backend for --device, after saying which one (unless --quiet).
std::unique_ptr<Backend> open_backend(const Common& common);
// Prints a line to stdout unless --quiet.
void say(const Common& common, const std::string& line);

// --pixel-size, --standoff, --thickness and --Ms, for programs that read maps with geometry attributes.
// Ranges are checked with the file's attributes and the configuration's values (resolve_geometry_value).
class GeometryFlags {
 public:
  void add(CLI::App& app);
  // The flags given, for programs that must refuse them for some inputs.
  std::vector<const CLI::Option*> given() const;
  // Each value from the flag, else the file's attribute, else [forward] in the configuration (`file`
  // names the input in messages). Not validated as a whole: FilmGeometry::validate() does that.
  FilmGeometry resolve(const GeometryAttributes& attributes, const ForwardConfig& config, const std::string& file) const;

 private:
  double pixel_ = 0, standoff_ = 0, thickness_ = 0, Ms_ = 0;
  CLI::Option *o_pixel_ = nullptr, *o_standoff_ = nullptr, *o_thickness_ = nullptr, *o_Ms_ = nullptr;
};

// Flag validators whose messages give the value and the accepted range in plain numbers (CLI11's own
// print bounds such as DBL_MAX in full).
CLI::Validator integer_range(int64_t lo, int64_t hi);
CLI::Validator number_range(double lo, double hi);
// A seed: a whole number from 0 to 2^64 - 1, in decimal; anything else (a sign, a fraction, a value that
// would wrap or saturate) throws InvalidInput.
uint64_t parse_seed(const std::string& text, const std::string& flag);
// The text of --field-axis, checked (parse_field_axis), for data.field_axis; the message names the flag.
std::string checked_field_axis(const std::string& text, const std::string& flag);
// An output folder, made here when missing (its parent must exist), and removed again when still empty
// as the program fails: a refused run leaves nothing behind. `what` names it in messages.
struct MadeFolder {
  std::filesystem::path path;  // set when this made it
  void make(const std::filesystem::path& dir, const std::string& what = "run folder");
  ~MadeFolder();
};
// The run folder of member k (1-based) of an ensemble in `root` (magcnn-train --ensemble writes it,
// magcnn-infer --model reads it).
std::filesystem::path ensemble_member_folder(const std::filesystem::path& root, int64_t k);
// --target shape|polar|vector [data.target] (magcnn-generate, magcnn-train).
CLI::Option* add_target_option(CLI::App& app, std::string& target);
// --noise-rms, --noise-background, --noise-tesla and --noise-Ms onto data.noise (magcnn-generate, magcnn-train).
struct NoiseFlags {
  double rms = 0, background = 0, tesla = 0, Ms = 0;
  CLI::Option* o_rms = nullptr;
  CLI::Option* o_background = nullptr;
  CLI::Option* o_tesla = nullptr;
  CLI::Option* o_Ms = nullptr;
  void add(CLI::App& app);
  void apply(NoiseSettings& noise) const;
  NoiseOverrides given_values() const;
  bool given() const { return *o_rms || *o_background || *o_tesla || *o_Ms; }
  std::vector<CLI::Option*> options() const { return {o_rms, o_background, o_tesla, o_Ms}; }
};
// "white noise 5% and background 2% of each map's RMS field" (empty when there is none).
std::string describe_noise(const NoiseSettings& noise);
constexpr const char* kFieldAxisHelp =
    "the field component of the samples: z (Bz), x, y, or an NV axis THETA,PHI (degrees) or UX,UY,UZ [data.field_axis]";

// Runs `body` after parsing, with interrupting signals handled (interrupt.h); returns the exit code.
// Usage errors: CLI11's message and code. Any other error prints "PROGRAM: error: ..." on one line and
// exits 1; an interrupt prints "PROGRAM: interrupted by SIG...: ..." and exits 128 + the signal. `rank`:
// this process's rank in a run of several (errors name it; only rank 0 reports an interrupt).
int run(CLI::App& app, int argc, char** argv, const std::function<void()>& body, int rank = 0);

}  // namespace magcnn::app
