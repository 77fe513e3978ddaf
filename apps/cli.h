// What every magcnn program shares: --config, --device, --out, --quiet, loading the configuration with
// flags over file over defaults, checking the output path before any work, choosing the backend, number
// flags whose errors read plainly, and turning any error or interrupting signal into one line and an
// exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "magcnn/backend.h"
#include "magcnn/config.h"

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

// Flag validators whose messages give the value and the accepted range in plain numbers (CLI11's own
// print bounds such as DBL_MAX in full).
CLI::Validator integer_range(int64_t lo, int64_t hi);
CLI::Validator number_range(double lo, double hi);
// A seed: a whole number from 0 to 2^64 - 1, in decimal; anything else (a sign, a fraction, a value that
// would wrap or saturate) throws InvalidInput.
uint64_t parse_seed(const std::string& text, const std::string& flag);

// Runs `body` after parsing, with interrupting signals handled (interrupt.h); returns the exit code.
// Usage errors: CLI11's message and code. Any other error prints "PROGRAM: error: ..." on one line and
// exits 1; an interrupt prints "PROGRAM: interrupted by SIG...: ..." and exits 128 + the signal.
int run(CLI::App& app, int argc, char** argv, const std::function<void()>& body);

}  // namespace magcnn::app
