// Shared command-line plumbing of the magcnn programs.
#include "cli.h"

#include <cstdio>
#include <exception>

#include "magcnn/device.h"
#include "magcnn/log.h"

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

std::unique_ptr<Backend> open_backend(const Common& common) {
  std::string why;
  auto backend = make_backend(parse_device_choice(common.device), &why);
  if (!common.quiet) std::printf("%s\n", why.c_str());
  return backend;
}

void say(const Common& common, const std::string& line) {
  if (!common.quiet) std::printf("%s\n", line.c_str());
}

int run(CLI::App& app, int argc, char** argv, const std::function<void()>& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    body();
    return 0;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: error: %s\n", app.get_name().c_str(), e.what());
    return 1;
  }
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1000 && u < 4) {
    bytes /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g %s", bytes, units[u]);
  return buf;
}

}  // namespace magcnn::app
