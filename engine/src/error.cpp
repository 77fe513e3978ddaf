// Formatting of library-call failures.
#include "magcnn/error.h"

namespace magcnn {

void throw_call_failure(const char* call, const char* file, int line, const std::string& message) {
  throw Error(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " + message);
}

}  // namespace magcnn
