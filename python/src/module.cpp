// The compiled part of `import magcnn` (magcnn/__init__.py re-exports it): the engine's errors as Python
// exceptions, and each capability's bindings.
#include <pybind11/pybind11.h>

#include <filesystem>

#include "bindings.h"
#include "magcnn/device.h"
#include "magcnn/error.h"
#include "magcnn/forward_model.h"
#include "magcnn/interrupt.h"

namespace py = pybind11;

PYBIND11_MODULE(_magcnn, m) {
  using namespace magcnn;
  m.doc() = "magcnn's engine: the exact forward model, the seed's generator, trained models and training (see magcnn/__init__.py)";
  m.attr("__version__") = MAGCNN_VERSION;
  // Input the caller can fix is a ValueError; any other failure (a library call, a file that cannot be
  // written, a GPU that fails) a RuntimeError; both carry the engine's message. Translators run from the
  // last registered: the most derived first.
  static py::exception<Error> engine_error(m, "EngineError", PyExc_RuntimeError);
  static py::exception<InvalidInput> invalid_input(m, "InvalidInput", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Interrupted& e) {
      // Reached only when a stop came from outside a released call (request_interrupt by a host).
      PyErr_SetString(PyExc_KeyboardInterrupt, e.what());
    } catch (const InvalidInput& e) {
      invalid_input(e.what());
    } catch (const Error& e) {
      engine_error(e.what());
    } catch (const std::filesystem::filesystem_error& e) {
      engine_error(e.what());
    }
  });
  m.attr("MU0") = kMu0;
  m.def("cuda_available", [] { return probe_cuda().usable; }, py::call_guard<py::gil_scoped_release>(), "Whether a GPU works (the CUDA backend is built and a device answers).");
  m.def("cuda_detail", [] { return probe_cuda().detail; }, py::call_guard<py::gil_scoped_release>(), "The GPU's name when one works, else why not.");
  magcnn::py_binding::bind_forward(m);
  magcnn::py_binding::bind_generator(m);
  magcnn::py_binding::bind_model(m);
  magcnn::py_binding::bind_train(m);
}
