// What every binding of the Python module shares: arrays read in place (or converted once), work run
// with the GIL released and stoppable by Ctrl-C, the backend chosen by name, lines said to Python.
//
// pybind11 2.10 (Debian 12's) predates NumPy 2's ABI: its py::array::itemsize() and dtype accessors read
// NumPy's structs at NumPy 1's offsets and return garbage under NumPy 2. So the module never reads those
// structs: it reads arrays through the buffer protocol (a Python standard, the same under every NumPy)
// and asks NumPy itself, through its Python API, for conversions and dtype names.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "magcnn/backend.h"
#include "magcnn/device.h"
#include "magcnn/interrupt.h"
#include "magcnn/memory.h"

namespace magcnn::py_binding {

namespace py = pybind11;

// A read-only array argument of rank 2 ([H, W]) or 3 ([N, H, W]) as the engine reads it: C-contiguous
// values of one real type. The caller's own memory when it already is so, else one converted copy.
struct MapsArgument {
  py::object owner;  // what holds the memory: the caller's array or NumPy's copy
  py::buffer_info buffer;
  int64_t n = 0, ny = 0, nx = 0;
  bool batched = false;
  bool converted = false;
  template <class T>
  const T* data() const {
    return static_cast<const T*>(buffer.ptr);
  }
};

// `value` as float64 (`want_double`) or float32 maps; `name` is the argument's, for messages. Integers and
// floats of any width are converted; anything else (complex, bool, objects, strings) and ranks other than
// 2 and 3 or empty maps are refused with ValueError.
MapsArgument maps_argument(py::handle value, const char* name, bool want_double);
// Whether `value` is a C-contiguous float64 (or float32) array, which maps_argument reads in place.
bool reads_in_place(py::handle value, bool want_double);

// Throws InvalidInput, before anything is allocated, when results of `bytes` in all (`what`) would not fit
// in the memory this process may still use.
void require_result_memory(double bytes, const std::string& what);

// A new C-contiguous NumPy array of T with the given shape (its size checked with checked_product).
template <class T>
py::array_t<T> new_array(const std::vector<int64_t>& shape) {
  checked_product(shape, "a result array");
  std::vector<py::ssize_t> dims(shape.begin(), shape.end());
  return py::array_t<T>(dims);
}
template <class T>
T* mutable_data(py::array_t<T>& a) {
  return static_cast<T*>(a.request(true).ptr);
}

// `value` as T; a TypeError naming the argument, what it takes and what it was given otherwise (pybind11's
// own cast error is a RuntimeError that names C++ types).
template <class T>
T cast_argument(py::handle value, const std::string& name, const char* expected) {
  try {
    return value.cast<T>();
  } catch (const py::cast_error&) {
    throw py::type_error(name + ": expected " + expected + ", got " + std::string(py::str(value.get_type().attr("__name__"))) + " " +
                         std::string(py::repr(value)));
  }
}

// One call at a time into an object whose engine state serves one call (a forward model's workspaces, a
// generator's sequence): other threads wait, taking it without the GIL; a call from within its own call
// on the same thread (a signal handler or callback that re-enters it) is refused instead of deadlocking.
class OneCallAtATime {
 public:
  class Held {
   public:
    explicit Held(OneCallAtATime& lock);
    ~Held();
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;

   private:
    OneCallAtATime& lock_;
  };

 private:
  std::mutex mutex_;
  std::atomic<std::thread::id> owner_{};
};

// The one lock around what reads or writes HDF5 files (loading models, training): the engine checks
// every file in a forked child first, and a child forked while another thread is inside HDF5 would wait
// forever on that library's own lock. HDF5's state is process-wide, and so is this lock.
std::recursive_mutex& hdf5_calls();  // recursive: a progress callback may load a model

// A Python str of engine text, undecodable bytes replaced (a path from a file need not be UTF-8).
py::str text(const std::string& s);

// A whole number (a float, even 3.0, is refused: "name=3.0: a whole number"), and a seed: a Python int
// from 0 to 2^64 - 1 (ValueError otherwise; `name` as the message spells the argument).
int64_t whole_argument(py::handle value, const std::string& name);
uint64_t seed_argument(py::handle value, const std::string& name);

// A backend by name ("auto", "cpu", "cuda"), and the sentence saying which was taken and why.
std::unique_ptr<Backend> open_backend(const std::string& device, std::string* why = nullptr);

// Engine work with the GIL released, stoppable by Ctrl-C: while it lives, the engine's interrupt checks
// on this thread (throw_if_interrupted, the trainer's stop) take the GIL at most every 20 ms to run
// Python's signal handlers; when one raises, its exception is kept in `raised` and the engine stops as it
// does for a signal. Construct with the GIL held.
class ReleasedCall {
 public:
  explicit ReleasedCall(std::optional<py::error_already_set>& raised);
  ~ReleasedCall();
  ReleasedCall(const ReleasedCall&) = delete;
  ReleasedCall& operator=(const ReleasedCall&) = delete;

 private:
  static int poll(void* self);
  std::optional<py::error_already_set>& raised_;
  std::chrono::steady_clock::time_point last_poll_;
  py::gil_scoped_release release_;
  InterruptPollScope scope_;
};

// With the GIL held, after the engine stopped with `e`: raises what the signal handler raised; a
// KeyboardInterrupt carries the engine's message instead (what it left behind: a checkpoint, nothing).
[[noreturn]] void raise_interrupt(const Interrupted& e, std::optional<py::error_already_set>& raised);

// Runs f() as a ReleasedCall and turns an interrupt into the Python exception its handler raised.
template <class F>
auto released(F&& f) -> decltype(f()) {
  std::optional<py::error_already_set> raised;
  try {
    ReleasedCall call(raised);
    return f();
  } catch (const Interrupted& e) {
    raise_interrupt(e, raised);
  }
}

}  // namespace magcnn::py_binding
