// One check macro for every library's status type: MAGCNN_CHECK(call) throws magcnn::Error with the call's
// text, file, line and the library's message. Each library's header provides status_ok(s) and
// status_text(s) overloads for its status type (curand_status.h, cuda/cuda_check.h).
#pragma once

#include "magcnn/error.h"

#define MAGCNN_CHECK(call)                                                                              \
  do {                                                                                                  \
    const auto magcnn_status_ = (call);                                                                 \
    if (!::magcnn::status_ok(magcnn_status_))                                                           \
      ::magcnn::throw_call_failure(#call, __FILE__, __LINE__, ::magcnn::status_text(magcnn_status_));   \
  } while (0)
