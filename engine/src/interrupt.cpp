// Signal handling for the programs. Signal handlers can only touch lock-free process-wide state, so this
// file holds the one piece of global state besides the logger: the pending request and the table of
// temporary files to remove on an immediate exit.
#include "magcnn/interrupt.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>

namespace magcnn {
namespace {

constexpr int kHandled[] = {SIGINT, SIGTERM, SIGHUP};
constexpr int kIgnored[] = {SIGPIPE, SIGXFSZ};
constexpr int kSlots = 16;
constexpr std::size_t kPathMax = 4096;

std::atomic<int> g_signal{0};
std::atomic<int> g_count{0};
std::atomic<bool> g_slot_used[kSlots];
char g_slot_path[kSlots][kPathMax];
std::mutex g_registration;  // between registering threads; the handler never takes it
// The host's poll on this thread (InterruptPollScope), and the signal it returned, kept once seen.
thread_local InterruptPollScope::Poll t_poll = nullptr;
thread_local void* t_poll_context = nullptr;
thread_local int t_polled_signal = 0;

int polled_signal() {
  if (t_poll == nullptr) return 0;
  if (t_polled_signal == 0) t_polled_signal = t_poll(t_poll_context);
  return t_polled_signal;
}

void write_stderr(const char* text) {
  const ssize_t ignored = ::write(STDERR_FILENO, text, std::strlen(text));
  (void)ignored;
}

static_assert(std::atomic<int>::is_always_lock_free && std::atomic<bool>::is_always_lock_free,
              "a signal handler may only touch lock-free atomics");

extern "C" void on_signal(int signal_number) {
  const int saved_errno = errno;  // the interrupted code may be about to read it
  if (g_count.fetch_add(1) == 0) {
    g_signal.store(signal_number);
    write_stderr("\ninterrupted: stopping after the current step (signal again to stop at once)\n");
    errno = saved_errno;
    return;
  }
  for (int i = 0; i < kSlots; ++i)
    if (g_slot_used[i].load()) ::unlink(g_slot_path[i]);
  write_stderr("\ninterrupted again: temporary files removed, no output written\n");
  const int first = g_signal.load();
  ::_exit(128 + (first != 0 ? first : signal_number));
}

constexpr std::size_t kChanged = sizeof kHandled / sizeof kHandled[0] + sizeof kIgnored / sizeof kIgnored[0];

}  // namespace

// The dispositions a scope replaced, restored when it ends (scopes may nest).
struct InterruptScope::Saved {
  struct sigaction previous[kChanged];
};

Interrupted::Interrupted(int signal_number, const std::string& outcome)
    : Error("interrupted by " + signal_name(signal_number) + ": " + outcome), signal_(signal_number) {}

InterruptScope::InterruptScope() : saved_(std::make_unique<Saved>()) {
  clear_interrupt();
  std::size_t k = 0;
  struct sigaction* previous = saved_->previous;
  struct sigaction action {};
  sigemptyset(&action.sa_mask);
  action.sa_handler = on_signal;
  action.sa_flags = SA_RESTART;  // reads and writes resume; the loops poll the request
  for (const int s : kHandled) sigaction(s, &action, &previous[k++]);
  struct sigaction ignore {};
  sigemptyset(&ignore.sa_mask);
  ignore.sa_handler = SIG_IGN;
  for (const int s : kIgnored) sigaction(s, &ignore, &previous[k++]);
}

InterruptScope::~InterruptScope() {
  std::size_t k = 0;
  const struct sigaction* previous = saved_->previous;
  for (const int s : kHandled) sigaction(s, &previous[k++], nullptr);
  for (const int s : kIgnored) sigaction(s, &previous[k++], nullptr);
}

void reset_interrupt_handling_in_child() {
  // The parent watches the child and stops it on a signal; the child must neither act on the terminal's
  // signals nor remove the parent's temporary files.
  for (int i = 0; i < kSlots; ++i) g_slot_used[i].store(false);
  struct sigaction ignore {};
  sigemptyset(&ignore.sa_mask);
  ignore.sa_handler = SIG_IGN;
  for (const int s : kHandled) sigaction(s, &ignore, nullptr);
  g_signal.store(0);
  g_count.store(0);
  t_poll = nullptr;  // the child never runs the parent's host code
  t_poll_context = nullptr;
  t_polled_signal = 0;
}

int interrupt_signal() {
  const int s = g_signal.load();
  return s != 0 ? s : polled_signal();
}

void request_interrupt(int signal_number) {
  g_signal.store(signal_number);
  g_count.fetch_add(1);
}

void clear_interrupt() {
  g_signal.store(0);
  g_count.store(0);
  t_polled_signal = 0;
}

void throw_if_interrupted() {
  if (const int s = interrupt_signal()) throw Interrupted(s);
}

InterruptPollScope::InterruptPollScope(Poll poll, void* context)
    : previous_poll_(t_poll), previous_context_(t_poll_context), previous_signal_(t_polled_signal) {
  t_poll = poll;
  t_poll_context = context;
  t_polled_signal = 0;
}

void InterruptPollScope::request(int signal_number) {
  if (t_poll != nullptr) t_polled_signal = signal_number;  // outside a scope there is no call to stop
}

InterruptPollScope::~InterruptPollScope() {
  // A stop the enclosing call had recorded, or one recorded in this scope, is the enclosing call's too.
  const int seen = t_polled_signal;
  t_poll = previous_poll_;
  t_poll_context = previous_context_;
  t_polled_signal = previous_poll_ != nullptr ? (previous_signal_ != 0 ? previous_signal_ : seen) : 0;
}

TemporaryFileRegistration::TemporaryFileRegistration(const std::string& path) {
  if (path.size() >= kPathMax) return;  // cannot be a valid path anyway; creating it will fail
  // The handler reads a slot only while it is marked used: copy first, then publish.
  const std::lock_guard<std::mutex> lock(g_registration);
  for (int i = 0; i < kSlots; ++i) {
    if (g_slot_used[i].load()) continue;
    std::memcpy(g_slot_path[i], path.c_str(), path.size() + 1);
    g_slot_used[i].store(true);
    slot_ = i;
    return;
  }
}

TemporaryFileRegistration::~TemporaryFileRegistration() {
  if (slot_ >= 0) g_slot_used[slot_].store(false);
}

std::string signal_name(int signal_number) {
  switch (signal_number) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    default: return "signal " + std::to_string(signal_number);
  }
}

}  // namespace magcnn
