// cuRAND's Philox4x32-10 device generator on the context's stream: the same sequence as the host
// generator of the CPU backend (tests/test_gpu.cpp checks it).
#include <memory>
#include <type_traits>

#include "cuda/cuda_check.h"
#include "cuda/cuda_parts.h"

namespace magcnn::cuda {
namespace {

class CurandDeviceStream final : public UniformStream {
 public:
  CurandDeviceStream(CudaContext& ctx, uint64_t seed) {
    curandGenerator_t gen = nullptr;
    MAGCNN_CHECK(curandCreateGenerator(&gen, CURAND_RNG_PSEUDO_PHILOX4_32_10));
    gen_.reset(gen);
    MAGCNN_CHECK(curandSetPseudoRandomGeneratorSeed(gen, seed));
    MAGCNN_CHECK(curandSetGeneratorOrdering(gen, CURAND_ORDERING_PSEUDO_DEFAULT));
    MAGCNN_CHECK(curandSetStream(gen, ctx.stream()));
  }
  void generate(double* out, int64_t count) override {
    MAGCNN_CHECK(curandGenerateUniformDouble(gen_.get(), out, static_cast<std::size_t>(count)));
  }

 private:
  std::unique_ptr<std::remove_pointer_t<curandGenerator_t>, decltype(&curandDestroyGenerator)> gen_{
      nullptr, &curandDestroyGenerator};
};

}  // namespace

std::unique_ptr<UniformStream> make_curand_stream(CudaContext& ctx, uint64_t seed) {
  return std::make_unique<CurandDeviceStream>(ctx, seed);
}

}  // namespace magcnn::cuda
