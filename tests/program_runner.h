// Running the programs as a user would, from the tests: argument vector, exit code or killing signal,
// captured stdout and stderr, signals sent once a condition holds, a file-size limit, a timeout.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace magcnn::test {

struct ProgramResult {
  int code = -1;    // exit status, or -1 when a signal ended the process
  int signal = 0;   // the signal that ended it, or 0
  bool timed_out = false;
  std::string out, err;
  int lines() const { return static_cast<int>(std::count(err.begin(), err.end(), '\n')); }
  // Lines of stderr that are not progress reports ("generate: 256/3000 samples (9%) ...").
  int message_lines() const {
    static const std::regex progress(R"(^\w+: \d+/\d+ )");
    std::istringstream in(err);
    int n = 0;
    for (std::string line; std::getline(in, line);) n += std::regex_search(line, progress) ? 0 : 1;
    return n;
  }
};

struct RunOptions {
  std::function<bool()> ready;  // once true (polled every 2 ms), `signals` are sent, `gap_ms` apart
  std::vector<int> signals;
  int gap_ms = 30;
  long long file_size_limit = -1;     // RLIMIT_FSIZE of the child, bytes
  long long address_space_limit = -1;  // RLIMIT_AS of the child, bytes
  double timeout_s = 120;
};

// The program's path: the environment variable `env` when set (to run the tests against other builds),
// else the one this test was built with.
inline std::string program_path(const char* env, const char* built) {
  const char* p = std::getenv(env);
  return p != nullptr && *p != '\0' ? p : built;
}

inline std::vector<std::string> split_args(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string a; in >> a;) out.push_back(a);
  return out;
}

inline std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline ProgramResult run_program(const std::string& program, const std::vector<std::string>& args,
                                 const RunOptions& options = {}) {
  namespace fs = std::filesystem;
  static int serial = 0;
  const fs::path capture = fs::temp_directory_path() /
                           ("magcnn_capture_" + std::to_string(::getpid()) + "_" + std::to_string(serial++));
  fs::create_directories(capture);
  const std::string out_path = (capture / "stdout").string(), err_path = (capture / "stderr").string();
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int o = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(o, STDOUT_FILENO);
    ::dup2(e, STDERR_FILENO);
    if (options.file_size_limit >= 0) {
      const rlimit limit{static_cast<rlim_t>(options.file_size_limit), static_cast<rlim_t>(options.file_size_limit)};
      ::setrlimit(RLIMIT_FSIZE, &limit);
    }
    if (options.address_space_limit >= 0) {
      const rlimit limit{static_cast<rlim_t>(options.address_space_limit), static_cast<rlim_t>(options.address_space_limit)};
      ::setrlimit(RLIMIT_AS, &limit);
    }
    ::execv(program.c_str(), argv.data());
    ::_exit(127);
  }
  ProgramResult r;
  const auto start = std::chrono::steady_clock::now();
  bool signalled = options.signals.empty();
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (!signalled && options.ready && options.ready()) {
      for (std::size_t i = 0; i < options.signals.size(); ++i) {
        if (i > 0 && options.gap_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(options.gap_ms));
        ::kill(pid, options.signals[i]);
      }
      signalled = true;
    }
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > options.timeout_s) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (WIFEXITED(status)) r.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  fs::remove_all(capture);
  return r;
}

}  // namespace magcnn::test
