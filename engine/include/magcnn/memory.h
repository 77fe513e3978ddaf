// Sizes and memory: element counts and byte sizes computed without overflow, the memory this process may
// still use, and the check that refuses work whose working set exceeds it, before anything is allocated.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace magcnn {

// The product of `factors` (each >= 0); throws InvalidInput naming `what` when it exceeds int64.
int64_t checked_product(std::initializer_list<int64_t> factors, const std::string& what);
int64_t checked_product(const std::vector<int64_t>& factors, const std::string& what);

// Bytes of host memory this process may still allocate: the kernel's MemAvailable, lowered to the
// headroom under a cgroup (container) memory limit and under an address-space limit (ulimit -v) when
// there is one. 0 when nothing can be read.
uint64_t host_memory_available();

// Throws InvalidInput "<what> needs <bytes> of <kind> memory; <available> is available" when `bytes`
// exceeds `available` (0 = unknown: no check).
void require_memory(double bytes, uint64_t available, const std::string& what, const char* kind = "host");

// Bytes free for this user on the file system that holds `path` (or its directory, when `path` does not
// exist yet); 0 when unknown.
uint64_t disk_space_available(const std::string& path);
// Throws InvalidInput "<path> needs at least <bytes> of disk space; <available> is free there".
void require_disk_space(double bytes, const std::string& path);

// "1.3 MB", "4.4 GB": decimal units, three significant digits.
std::string human_bytes(double bytes);

}  // namespace magcnn
