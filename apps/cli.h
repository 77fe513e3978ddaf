// What every magcnn program shares: --config, --device, --out, --quiet, loading the configuration with
// flags over file over defaults, choosing the backend, and turning any error into one line and exit 1.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>

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
// The backend for --device, after saying which one (unless --quiet).
std::unique_ptr<Backend> open_backend(const Common& common);
// Prints a line to stdout unless --quiet.
void say(const Common& common, const std::string& line);

// Runs `body` after parsing; returns the process exit code. Usage errors exit 2 with CLI11's message;
// any magcnn or library error prints "PROGRAM: error: ..." on one line and exits 1.
int run(CLI::App& app, int argc, char** argv, const std::function<void()>& body);

// A human-readable size: "1.3 MB".
std::string human_bytes(double bytes);

}  // namespace magcnn::app
