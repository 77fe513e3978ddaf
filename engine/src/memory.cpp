// Overflow-checked sizes and the memory available to this process (Linux: /proc and cgroup files).
#include "magcnn/memory.h"

#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "magcnn/error.h"

namespace magcnn {

int64_t checked_product(std::initializer_list<int64_t> factors, const std::string& what) {
  return checked_product(std::vector<int64_t>(factors), what);
}

int64_t checked_product(const std::vector<int64_t>& factors, const std::string& what) {
  int64_t product = 1;
  for (const int64_t f : factors) {
    MAGCNN_REQUIRE(f >= 0, what << ": negative size " << f);
    if (__builtin_mul_overflow(product, f, &product))
      throw InvalidInput(what + " is too large: its number of elements cannot be counted in 64 bits");
  }
  return product;
}

namespace {

// The first number on the line of /proc/meminfo that starts with `key`, in bytes (the file says kB).
uint64_t meminfo_bytes(const char* key) {
  std::ifstream in("/proc/meminfo");
  std::string line;
  const std::string prefix = std::string(key) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) {
      std::istringstream fields(line.substr(prefix.size()));
      uint64_t kb = 0;
      fields >> kb;
      return kb * 1024;
    }
  }
  return 0;
}

// A cgroup file holding one number, or "max" (no limit: returns the largest value).
uint64_t read_cgroup_value(const char* path, bool& found) {
  std::ifstream in(path);
  std::string text;
  found = static_cast<bool>(in >> text);
  if (!found || text == "max") return std::numeric_limits<uint64_t>::max();
  try {
    return std::stoull(text);
  } catch (const std::exception&) {
    found = false;
    return std::numeric_limits<uint64_t>::max();
  }
}

}  // namespace

uint64_t host_memory_available() {
  uint64_t available = meminfo_bytes("MemAvailable");
  // cgroup v2, then v1: a container's limit can be far below what the machine has free.
  bool has_limit = false, has_usage = false;
  uint64_t limit = read_cgroup_value("/sys/fs/cgroup/memory.max", has_limit);
  uint64_t usage = read_cgroup_value("/sys/fs/cgroup/memory.current", has_usage);
  if (!has_limit) {
    limit = read_cgroup_value("/sys/fs/cgroup/memory/memory.limit_in_bytes", has_limit);
    usage = read_cgroup_value("/sys/fs/cgroup/memory/memory.usage_in_bytes", has_usage);
  }
  if (has_limit && has_usage && limit != std::numeric_limits<uint64_t>::max()) {
    const uint64_t headroom = limit > usage ? limit - usage : 0;
    if (available == 0 || headroom < available) available = headroom;
  }
  // An address-space limit (ulimit -v, common on clusters) caps what this process can map.
  rlimit as{};
  if (::getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) {
    std::ifstream statm("/proc/self/statm");
    uint64_t pages = 0;
    statm >> pages;
    const uint64_t mapped = pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t headroom = as.rlim_cur > mapped ? as.rlim_cur - mapped : 0;
    if (available == 0 || headroom < available) available = headroom;
  }
  return available;
}

void require_memory(double bytes, uint64_t available, const std::string& what, const char* kind) {
  if (available == 0 || bytes <= static_cast<double>(available)) return;
  throw InvalidInput(what + " needs " + human_bytes(bytes) + " of " + kind + " memory; " +
                     human_bytes(static_cast<double>(available)) + " is available");
}

uint64_t disk_space_available(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) return 0;
  return static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
}

void require_disk_space(double bytes, const std::string& path) {
  const uint64_t available = disk_space_available(path);
  if (available == 0 || bytes <= static_cast<double>(available)) return;
  throw InvalidInput(path + " needs at least " + human_bytes(bytes) + " of disk space; " +
                     human_bytes(static_cast<double>(available)) + " is free there");
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  int u = 0;
  while (bytes >= 1000 && u < 6) {
    bytes /= 1000;
    ++u;
  }
  if (bytes >= 1000) {  // beyond exabytes: no unit is meaningful any more
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.3g EB", bytes);
    return buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g %s", bytes, units[u]);
  return buf;
}

}  // namespace magcnn
