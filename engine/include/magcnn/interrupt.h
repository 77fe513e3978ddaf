// Interruption of long work by SIGINT, SIGTERM or SIGHUP, handled in one place for every program.
//
// While an InterruptScope lives, the first such signal only records a request: long loops call
// throw_if_interrupted() between batches, the exception unwinds (destructors remove temporary files) and
// the program exits with 128 + the signal's number. A second signal does not wait: it removes the
// temporary files registered below and exits at once. The scope also ignores SIGPIPE (a closed pipe on
// stdout must not kill a run half-way through its output file) and SIGXFSZ (a file-size limit must turn
// into a write error that is reported, not a silent death).
#pragma once

#include <memory>
#include <string>

#include "magcnn/error.h"

namespace magcnn {

class Interrupted : public Error {
 public:
  // `outcome` says what the program left behind (default: nothing).
  explicit Interrupted(int signal_number, const std::string& outcome = "stopped, no output written");
  int signal_number() const { return signal_; }
  int exit_code() const { return 128 + signal_; }

 private:
  int signal_;
};

class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

 private:
  struct Saved;
  std::unique_ptr<Saved> saved_;
};

// The signal that asked to stop, or 0.
int interrupt_signal();
// In a child process made by fork(), which inherits the handlers and the table of temporary files:
// ignore the interrupting signals (the parent stops the child) and never remove the parent's files.
void reset_interrupt_handling_in_child();
// Records a request as a signal would (for embedding hosts and tests).
void request_interrupt(int signal_number);
// Forgets a request (tests, or a host that handled it).
void clear_interrupt();
// Throws Interrupted when a stop was requested.
void throw_if_interrupted();

// For a host that handles signals itself (the Python module: the interpreter's handler runs only when
// the interpreter does): while a scope lives, interrupt_signal() and throw_if_interrupted() on its
// thread also ask `poll`, which returns a signal number to stop for, or 0. Thread-local: another
// thread's engine calls are not stopped, and no process-wide state changes. Never poll inside an OpenMP
// parallel region (its first thread would run the host's code there, and an exception cannot leave it).
class InterruptPollScope {
 public:
  // Records a stop for this thread's engine calls, as if `poll` had returned it (a host's callback that
  // saw the user ask to stop).
  static void request(int signal_number);
  using Poll = int (*)(void* context);
  InterruptPollScope(Poll poll, void* context);
  ~InterruptPollScope();
  InterruptPollScope(const InterruptPollScope&) = delete;
  InterruptPollScope& operator=(const InterruptPollScope&) = delete;

 private:
  Poll previous_poll_;
  void* previous_context_;
  int previous_signal_;
};

// A temporary file that the second signal's immediate exit must remove; registered for its lifetime.
class TemporaryFileRegistration {
 public:
  explicit TemporaryFileRegistration(const std::string& path);
  ~TemporaryFileRegistration();
  TemporaryFileRegistration(const TemporaryFileRegistration&) = delete;
  TemporaryFileRegistration& operator=(const TemporaryFileRegistration&) = delete;

 private:
  int slot_ = -1;
};

// "SIGINT", "SIGTERM", ...
std::string signal_name(int signal_number);

}  // namespace magcnn
