// Pieces of the CPU backend that live in their own files: FFTW plans and the host random stream.
#pragma once

#include <memory>

#include "magcnn/backend.h"

namespace magcnn::cpu {

std::unique_ptr<FftPlan> make_fftw_plan(DType real_type, int64_t batch, int64_t ny, int64_t nx);
std::unique_ptr<UniformStream> make_host_uniform_stream(uint64_t seed);
// kernels/philox.h on the host, whatever the build: tests compare it with cuRAND.
std::unique_ptr<UniformStream> make_builtin_philox_stream(uint64_t seed);

}  // namespace magcnn::cpu
