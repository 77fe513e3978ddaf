// The one error type of magcnn: what failed, where, and the library's own message.
#pragma once

#include <stdexcept>
#include <string>

namespace magcnn {

// Any failure: a library call (CUDA, cuFFT, cuRAND, cuBLAS, cuDNN, HDF5, FFTW), bad input, a bad file.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Input the user can fix (arguments, shapes, file contents, configuration): the message says what to do.
class InvalidInput : public Error {
 public:
  explicit InvalidInput(const std::string& what) : Error(what) {}
};

// Throws Error("<call> failed at <file>:<line>: <message>").
[[noreturn]] void throw_call_failure(const char* call, const char* file, int line, const std::string& message);

}  // namespace magcnn

// Argument and input checks: throw InvalidInput with a message built by streaming (a << b << c).
#define MAGCNN_REQUIRE(condition, message)                       \
  do {                                                           \
    if (!(condition)) {                                          \
      throw ::magcnn::InvalidInput(::magcnn::detail::Message() << message); \
    }                                                            \
  } while (0)

#include <sstream>
namespace magcnn::detail {
class Message {
 public:
  template <class T>
  Message& operator<<(const T& v) {
    out_ << v;
    return *this;
  }
  operator std::string() const { return out_.str(); }

 private:
  std::ostringstream out_;
};
}  // namespace magcnn::detail
