// Pieces of the CPU backend that live in their own files: FFTW plans and the host random stream.
#pragma once

#include <memory>

#include "magcnn/backend.h"

namespace magcnn::cpu {

std::unique_ptr<FftPlan> make_fftw_plan(const FftSpec& spec);
// Convolutions: im2col + GEMM (float and double; BLAS when built with it) and oneDNN (float; nullptr when
// the build has no oneDNN or it cannot do the shape). The backend picks; benchmarks time each.
std::unique_ptr<ConvPlan> make_gemm_conv(const ConvSpec& spec);
std::unique_ptr<ConvPlan> make_dnnl_conv(const ConvSpec& spec, bool winograd);
// The 2-D real-to-real transforms of the kernel quadrants [tables][P/2+1][Q/2+1] by their parities
// (kern::table_odd_x, table_odd_y; see kern::ParityPlanes), in place; entries outside each transform's
// range are left as they are, and ParityPlanes never reads them.
void parity_r2r(double* quadrant, int tables, int64_t P, int64_t Q);
std::unique_ptr<UniformStream> make_host_uniform_stream(uint64_t seed);
// kernels/philox.h on the host, whatever the build: tests compare it with cuRAND.
std::unique_ptr<UniformStream> make_builtin_philox_stream(uint64_t seed);

}  // namespace magcnn::cpu
