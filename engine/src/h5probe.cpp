// Reading an untrusted HDF5 file once in a child process before trusting the library with it in ours.
//
// HDF5 1.10 (Debian 12's) misbehaves on some damaged files (found by tests/test_fuzz.cpp within a few
// thousand mutated files): a corrupted address or size sends it reading and writing out of bounds,
// allocating tens of gigabytes, or crashing. Nothing in our code can check those structures beforehand,
// so a forked child walks everything our readers could touch (every object and attribute, every numeric
// dataset's data in bounded blocks) under a memory budget, reporting progress through a pipe, then frees
// it all and exits. A crash, an exhausted budget or a stall there becomes a clear refusal here; a file
// that passes is then read normally. The child closes only the file it opened: HDF5 objects the parent
// holds (an output being written) are inherited but never touched.
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

#include "h5file.h"
#include "magcnn/interrupt.h"
#include "magcnn/memory.h"

namespace magcnn::h5 {
namespace {

// Exit statuses of the child.
constexpr int kReadThrough = 0, kLibraryError = 1, kNotHdf5 = 2, kMemoryBudget = 3, kSanitizerReport = 4, kEndless = 5;
// Memory the child may take beyond what it shares with its parent: far more than any real file's
// metadata needs, far less than a corrupted size field can ask for. Chunked data gets twice its largest
// chunk on top (HDF5 caps a chunk at 4 GB).
constexpr uint64_t kChildBudget = uint64_t{2} << 30;
constexpr hsize_t kBlockValues = hsize_t{1} << 21;  // 16 MB of doubles per read
constexpr double kStallSeconds = 60;                // no progress for this long: stuck
constexpr uint64_t kWholeReadBytes = uint64_t{256} << 20;  // datasets read whole as well, as readers do
constexpr long kMaxDepth = 32;                      // group nesting no data file needs

int g_progress_fd = -1;        // the child's end of the pipe (only ever set in the child)
double g_bytes_left = 0;       // data the child may still read: no real file holds more
double g_visits_left = 0;      // objects and attributes: every one takes bytes of the file, so a
                               // walk longer than the file allows goes in circles (a cyclic B-tree)

void heartbeat() {
  if (--g_visits_left < 0) ::_exit(kEndless);
  const char beat = 1;
  const ssize_t ignored = ::write(g_progress_fd, &beat, 1);
  (void)ignored;
}

// Called by HDF5 at every failing API call in the child: an allocation refused by the budget means the
// file's metadata asked for an absurd size; stop at once, saying so.
herr_t on_error(hid_t stack, void*) {
  bool out_of_memory = false;
  H5Ewalk2(stack, H5E_WALK_DOWNWARD,
           [](unsigned, const H5E_error2_t* e, void* flag) -> herr_t {
             if (e->min_num == H5E_NOSPACE || e->min_num == H5E_CANTALLOC) *static_cast<bool*>(flag) = true;
             return 0;
           },
           &out_of_memory);
  if (out_of_memory) ::_exit(kMemoryBudget);
  return 0;
}

// The process's virtual size: the budget comes on top of what the parent had mapped (a CUDA process
// maps tens of GB of address space without using it).
uint64_t virtual_size() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  unsigned long long pages = 0;
  if (f != nullptr) {
    if (std::fscanf(f, "%llu", &pages) != 1) pages = 0;
    std::fclose(f);
  }
  return pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

void set_memory_limit(uint64_t bytes) {
  const rlimit limit{bytes, RLIM_INFINITY};  // soft only: raised again for a large chunk
  ::setrlimit(RLIMIT_AS, &limit);
}

// One attribute, read as the readers read one-value attributes.
void touch_attribute(hid_t loc, const char* name) {
  const hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
  if (attr < 0) return;
  const hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
  const hssize_t points = H5Sget_simple_extent_npoints(space);
  const H5T_class_t cls = H5Tget_class(type);
  if (points == 1 && cls == H5T_STRING && H5Tis_variable_str(type) > 0) {
    char* s = nullptr;
    const hid_t mem = H5Tcopy(H5T_C_S1);
    H5Tset_size(mem, H5T_VARIABLE);
    if (H5Aread(attr, mem, &s) >= 0) H5free_memory(s);
    H5Tclose(mem);
  } else if (points == 1 && (cls == H5T_FLOAT || cls == H5T_INTEGER)) {
    double v = 0;
    H5Aread(attr, H5T_NATIVE_DOUBLE, &v);
    if (cls == H5T_INTEGER) {
      long long i = 0;
      H5Aread(attr, H5Tget_sign(type) == H5T_SGN_NONE ? H5T_NATIVE_ULLONG : H5T_NATIVE_LLONG, &i);
    }
  } else if (points == 1 && cls == H5T_STRING && H5Tget_size(type) <= (std::size_t{1} << 20)) {
    std::vector<char> text(H5Tget_size(type) + 1);
    H5Aread(attr, type, text.data());
  }
  H5Sclose(space);
  H5Tclose(type);
  H5Aclose(attr);
  heartbeat();
}

void touch_attributes(hid_t object) {
  H5Aiterate2(
      object, H5_INDEX_NAME, H5_ITER_NATIVE, nullptr,
      [](hid_t loc, const char* name, const H5A_info_t*, void*) -> herr_t {
        try {
          touch_attribute(loc, name);
        } catch (...) {
          ::_exit(kMemoryBudget);  // no exception may cross HDF5's C frames
        }
        return 0;
      },
      nullptr);
}

// Reads the whole dataset in blocks of at most kBlockValues: the trailing dimensions that fit whole,
// a run of the next one, single steps along the leading ones.
void read_in_blocks(hid_t ds, hid_t space, int rank) {
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  for (const hsize_t d : dims)
    if (d == 0) return;
  std::vector<hsize_t> block(dims.size(), 1);
  hsize_t values = 1;
  for (int i = rank - 1; i >= 0; --i) {
    const std::size_t k = static_cast<std::size_t>(i);
    if (values * dims[k] <= kBlockValues) {
      block[k] = dims[k];
      values *= dims[k];
    } else {
      block[k] = std::max<hsize_t>(1, kBlockValues / values);
      values *= block[k];
      break;
    }
  }
  std::vector<double> buffer(static_cast<std::size_t>(values));
  std::vector<hsize_t> start(dims.size(), 0), count(dims.size());
  for (;;) {
    for (std::size_t k = 0; k < dims.size(); ++k) count[k] = std::min(block[k], dims[k] - start[k]);
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
    const hid_t memory = H5Screate_simple(rank, count.data(), nullptr);
    const herr_t status = H5Dread(ds, H5T_NATIVE_DOUBLE, memory, space, H5P_DEFAULT, buffer.data());
    H5Sclose(memory);
    heartbeat();
    if (status < 0) return;  // an error, not a crash: the reader will report it
    g_bytes_left -= 8.0 * static_cast<double>(values);
    if (g_bytes_left < 0) return;
    int k = rank - 1;        // next block, as an odometer
    for (; k >= 0; --k) {
      const std::size_t j = static_cast<std::size_t>(k);
      start[j] += block[j];
      if (start[j] < dims[j]) break;
      start[j] = 0;
    }
    if (k < 0) return;
  }
}

void touch_dataset(hid_t ds, uint64_t base_memory) {
  const hid_t type = H5Dget_type(ds), space = H5Dget_space(ds), dcpl = H5Dget_create_plist(ds);
  const H5T_class_t cls = H5Tget_class(type);
  const int rank = H5Sget_simple_extent_ndims(space);
  const bool numeric = cls == H5T_FLOAT || cls == H5T_INTEGER;
  const bool local = H5Pget_layout(dcpl) != H5D_VIRTUAL && H5Pget_external_count(dcpl) == 0;
  // What the readers refuse before reading (File::check_dataset) is not read here either.
  if (numeric && local && rank >= 0 && g_bytes_left > 0 && !mostly_unwritten(ds).unwritten) {
    uint64_t chunk_bytes = 0;
    if (H5Pget_layout(dcpl) == H5D_CHUNKED && rank > 0) {
      std::vector<hsize_t> chunk(static_cast<std::size_t>(rank), 1);
      H5Pget_chunk(dcpl, rank, chunk.data());
      chunk_bytes = std::max<uint64_t>(H5Tget_size(type), 8);
      for (const hsize_t c : chunk) chunk_bytes = std::min<uint64_t>(chunk_bytes * c, uint64_t{4} << 30);
    }
    set_memory_limit(base_memory + kChildBudget + 2 * chunk_bytes);
    const double values = static_cast<double>(H5Sget_simple_extent_npoints(space));
    if (rank == 0 || values * 8 <= static_cast<double>(kWholeReadBytes)) {
      // As the readers read it: whole, converted to double and to float (HDF5's conversion paths differ).
      std::vector<double> whole(static_cast<std::size_t>(std::max(values, 1.0)));
      if (H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, whole.data()) >= 0)
        H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, whole.data());
      g_bytes_left -= 8 * values;
      heartbeat();
    }
    if (rank > 0) read_in_blocks(ds, space, rank);
    set_memory_limit(base_memory + kChildBudget);
  }
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Tclose(type);
}

void probe(const char* path, int progress_fd) {
  g_progress_fd = progress_fd;
  reset_interrupt_handling_in_child();
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the parent
  // A crash inside HDF5 must end the child with its signal, whatever handlers the parent installed (a
  // sanitizer's, in a sanitized build). A sanitizer's own report is a bug in our code: its own status.
  for (const int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL}) ::signal(s, SIG_DFL);
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_set_death_callback([] { ::_exit(kSanitizerReport); });
#endif
  const uint64_t base = virtual_size();
  if (base > 0) set_memory_limit(base + kChildBudget);
  struct stat st {};
  const double file_bytes = ::stat(path, &st) == 0 ? static_cast<double>(st.st_size) : 0.0;
  g_bytes_left = file_bytes * kMaxCompressionRatio * 8 + 1e8;
  // Data blocks count too (one visit each); the rest is objects and attributes, at least 16 bytes each.
  g_visits_left = file_bytes / 16 + g_bytes_left / (8.0 * static_cast<double>(kBlockValues)) + 10000;
  H5Eset_auto2(H5E_DEFAULT, on_error, nullptr);
  if (H5Fis_hdf5(path) <= 0) ::_exit(kNotHdf5);
  const hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) ::_exit(kLibraryError);
  touch_attributes(file);
  struct Visit {
    uint64_t base;
  } visit{base};
  H5Ovisit2(
      file, H5_INDEX_NAME, H5_ITER_NATIVE,
      [](hid_t root, const char* name, const H5O_info_t*, void* data) -> herr_t {
        if (std::strcmp(name, ".") == 0) return 0;
        // A path this deep is a group that contains itself (a cycle in damaged metadata): walking it
        // would never end, and each step costs more than the last.
        if (std::count(name, name + std::strlen(name), '/') > kMaxDepth) ::_exit(kEndless);
        try {
          const hid_t obj = H5Oopen(root, name, H5P_DEFAULT);
          if (obj < 0) return 0;
          touch_attributes(obj);
          if (H5Iget_type(obj) == H5I_DATASET) touch_dataset(obj, static_cast<Visit*>(data)->base);
          H5Oclose(obj);
          heartbeat();
        } catch (...) {
          ::_exit(kMemoryBudget);  // no exception may cross HDF5's C frames
        }
        return 0;
      },
      &visit, H5O_INFO_BASIC);
  // Free what this file made HDF5 allocate: HDF5 writes out of bounds on some damaged files without
  // crashing at once, and glibc's checks on free() and on consolidation turn that into an abort here
  // rather than in the parent. The whole library is shut down only when no file of the parent's was open
  // (closing one here would flush the parent's cached metadata into its file).
  const bool only_ours = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE) == 1;
  H5Fclose(file);
  if (only_ours) {
    // Seen here: when the parent has started other threads (OpenMP's pool, after training), HDF5 1.10
    // closing in the forked child prints "HDF5: infinite loop closing library" and a list of its
    // interfaces to stderr, though the close has freed what this probe needs freed. The message would
    // reach the user's terminal for nothing: stderr is muted for the call (a sanitizer's report still
    // ends the child through its death callback, with its own exit status).
    const int saved = ::dup(STDERR_FILENO), null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved >= 0 && null_fd >= 0) ::dup2(null_fd, STDERR_FILENO);
    H5close();
    if (saved >= 0 && null_fd >= 0) ::dup2(saved, STDERR_FILENO);
    if (null_fd >= 0) ::close(null_fd);
    if (saved >= 0) ::close(saved);
  } else {
    H5garbage_collect();
  }
  ::malloc_trim(0);
}

// The child's whole work; its exit status says how it went. Nothing may escape it: an exception would
// unwind into the parent's code, running on in this copy of the process.
[[noreturn]] void probe_and_exit(const char* path, int progress_fd) noexcept {
  try {
    probe(path, progress_fd);
  } catch (...) {
    ::_exit(kMemoryBudget);  // the only thing that throws here is an allocation refused by the budget
  }
  ::_exit(kReadThrough);
}
}  // namespace

void probe_in_child(const std::string& path) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return;  // no pipe to spare: read without the safety net
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    return;
  }
  if (pid == 0) {
    ::close(pipe_fds[0]);
    probe_and_exit(path.c_str(), pipe_fds[1]);
  }
  ::close(pipe_fds[1]);
  auto last_progress = std::chrono::steady_clock::now();
  int status = 0;
  const auto stop_child = [&] {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    ::close(pipe_fds[0]);
  };
  for (;;) {
    pollfd p{pipe_fds[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, 100);
    if (ready > 0 && (p.revents & POLLIN) != 0) {
      char beats[256];
      if (::read(pipe_fds[0], beats, sizeof beats) > 0) last_progress = std::chrono::steady_clock::now();
    }
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0) {
      ::close(pipe_fds[0]);
      return;
    }
    if (const int sig = interrupt_signal()) {
      stop_child();
      throw Interrupted(sig);
    }
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - last_progress).count() > kStallSeconds) {
      stop_child();
      throw InvalidInput(path + ": the HDF5 library made no progress reading it for " +
                         std::to_string(static_cast<int>(kStallSeconds)) +
                         " s (a damaged file can send it in circles); nothing was read");
    }
  }
  ::close(pipe_fds[0]);
  if (WIFEXITED(status)) {
    switch (WEXITSTATUS(status)) {
      case kNotHdf5: throw InvalidInput(path + " is not an HDF5 file (or cannot be read)");
      case kEndless:
        throw InvalidInput(path + " is damaged: walking its groups and attributes never ends (a cycle in its "
                                  "metadata); nothing was read from it");
      case kMemoryBudget:
        throw InvalidInput(path + " is damaged: its HDF5 metadata asks for more memory than any real file needs "
                                  "(a corrupted size field); nothing was read from it");
      case kSanitizerReport:
        throw Error("internal error: a sanitizer found a memory error in magcnn while checking " + path +
                    " (please report it with the file)");
      default: return;  // read through, or an error the reader itself will report
    }
  }
  const int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  if (sig == SIGKILL)
    throw Error("checking " + path + " in a separate process: the process was killed (out of memory?)");
  throw InvalidInput(path + " is damaged: the HDF5 library crashed reading it (" + std::string(strsignal(sig)) +
                     ", in a separate process); nothing was read from it");
}

}  // namespace magcnn::h5
