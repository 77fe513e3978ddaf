#include "py_common.h"

#include <csignal>

#include "magcnn/error.h"

namespace magcnn::py_binding {
namespace {

// The buffer format of a native float32 or float64 ("d", "<d", "=d", "@d" on a little-endian machine).
char native_real_format(const py::buffer_info& b) {
  std::string f = b.format;
  if (!f.empty() && (f[0] == '@' || f[0] == '=' || f[0] == '<')) f.erase(0, 1);
  if (f == "d" && b.itemsize == 8) return 'd';
  if (f == "f" && b.itemsize == 4) return 'f';
  return 0;
}

bool c_contiguous(const py::buffer_info& b) {
  py::ssize_t expected = b.itemsize;
  for (py::ssize_t d = b.ndim - 1; d >= 0; --d) {
    const auto i = static_cast<std::size_t>(d);
    if (b.shape[i] != 1 && b.strides[i] != expected) return false;
    expected *= b.shape[i];
  }
  return true;
}

bool usable_in_place(const py::buffer_info& b, bool want_double) {
  const char f = native_real_format(b);
  return f == (want_double ? 'd' : 'f') && c_contiguous(b) && (b.ndim == 2 || b.ndim == 3);
}

}  // namespace

bool reads_in_place(py::handle value, bool want_double) {
  if (!PyObject_CheckBuffer(value.ptr())) return false;
  return usable_in_place(py::reinterpret_borrow<py::buffer>(value).request(), want_double);
}

MapsArgument maps_argument(py::handle value, const char* name, bool want_double) {
  MapsArgument a;
  if (PyObject_CheckBuffer(value.ptr())) {
    py::buffer_info b = py::reinterpret_borrow<py::buffer>(value).request();
    if (usable_in_place(b, want_double)) {
      a.owner = py::reinterpret_borrow<py::object>(value);
      a.buffer = std::move(b);
    }
  }
  if (a.buffer.ptr == nullptr) {
    // NumPy converts; its dtype is asked through Python, never read from its structs.
    py::module_ np = py::module_::import("numpy");
    py::object array = np.attr("asarray")(value);
    const std::string kind = py::str(array.attr("dtype").attr("kind"));
    MAGCNN_REQUIRE(kind == "f" || kind == "i" || kind == "u",
                   name << ": an array of " << std::string(py::str(array.attr("dtype")))
                        << " values; give real numbers (float64 is read in place, other integer and float types are converted)");
    a.owner = np.attr("ascontiguousarray")(array, py::arg("dtype") = want_double ? "float64" : "float32");
    a.buffer = py::reinterpret_borrow<py::buffer>(a.owner).request();
    a.converted = true;
  }
  const py::buffer_info& b = a.buffer;
  MAGCNN_REQUIRE(b.ndim == 2 || b.ndim == 3,
                 name << ": an array of rank " << b.ndim << "; give one map [H, W] or maps [N, H, W]");
  a.batched = b.ndim == 3;
  a.n = a.batched ? b.shape[0] : 1;
  a.ny = b.shape[static_cast<std::size_t>(b.ndim - 2)];
  a.nx = b.shape[static_cast<std::size_t>(b.ndim - 1)];
  MAGCNN_REQUIRE(a.n >= 1 && a.ny >= 1 && a.nx >= 1, name << ": empty maps (" << a.n << " x " << a.ny << " x " << a.nx << ")");
  return a;
}

OneCallAtATime::Held::Held(OneCallAtATime& lock) : lock_(lock) {
  MAGCNN_REQUIRE(lock.owner_.load() != std::this_thread::get_id(),
                 "this object was called again from within its own call on the same thread (a signal handler or a callback?): "
                 "use another one there");
  lock.mutex_.lock();
  lock.owner_.store(std::this_thread::get_id());
}

OneCallAtATime::Held::~Held() {
  lock_.owner_.store(std::thread::id{});
  lock_.mutex_.unlock();
}

std::recursive_mutex& hdf5_calls() {
  static std::recursive_mutex lock;
  return lock;
}

py::str text(const std::string& s) {
  return py::reinterpret_steal<py::str>(PyUnicode_DecodeUTF8(s.data(), static_cast<py::ssize_t>(s.size()), "replace"));
}

int64_t whole_argument(py::handle value, const std::string& name) {
  MAGCNN_REQUIRE(!py::isinstance<py::float_>(value), name << "=" << std::string(py::repr(value)) << ": a whole number");
  return cast_argument<int64_t>(value, name, "a whole number");
}

uint64_t seed_argument(py::handle value, const std::string& name) {
  MAGCNN_REQUIRE(py::isinstance<py::int_>(value) && value.cast<py::int_>() >= py::int_(0) &&
                     value.cast<py::int_>() < py::int_(py::module_::import("builtins").attr("pow")(2, 64)),
                 name << "=" << std::string(py::repr(value)) << ": a whole number from 0 to 2^64 - 1");
  return value.cast<uint64_t>();
}

void require_result_memory(double bytes, const std::string& what) { require_memory(bytes, host_memory_available(), what); }

std::unique_ptr<Backend> open_backend(const std::string& device, std::string* why) {
  try {
    return make_backend(parse_device_choice(device), why);
  } catch (const InvalidInput&) {
    throw;
  } catch (const Error& e) {
    // The engine names the program's flag; here it is a keyword.
    std::string message = e.what();
    for (const auto& [flag, keyword] : {std::pair<std::string, std::string>{"--device cuda", "device='cuda'"},
                                        {"--device cpu or auto", "device='cpu' or 'auto'"}})
      if (const auto at = message.find(flag); at != std::string::npos) message.replace(at, flag.size(), keyword);
    throw Error(message);
  }
}

ReleasedCall::ReleasedCall(std::optional<py::error_already_set>& raised)
    : raised_(raised), last_poll_(std::chrono::steady_clock::now()), scope_(&ReleasedCall::poll, this) {}

ReleasedCall::~ReleasedCall() = default;

int ReleasedCall::poll(void* self) {
  auto* call = static_cast<ReleasedCall*>(self);
  const auto now = std::chrono::steady_clock::now();
  if (now - call->last_poll_ < std::chrono::milliseconds(20)) return 0;
  call->last_poll_ = now;
  py::gil_scoped_acquire gil;
  // Runs the handlers only on the main thread (Python's rule); elsewhere it returns 0.
  if (PyErr_CheckSignals() == 0) return 0;
  call->raised_.emplace();  // takes the exception the handler raised
  return SIGINT;
}

void raise_interrupt(const Interrupted& e, std::optional<py::error_already_set>& raised) {
  if (raised && !raised->matches(PyExc_KeyboardInterrupt)) {
    raised->restore();
    throw py::error_already_set();
  }
  PyErr_SetString(PyExc_KeyboardInterrupt, e.what());
  throw py::error_already_set();
}

}  // namespace magcnn::py_binding
