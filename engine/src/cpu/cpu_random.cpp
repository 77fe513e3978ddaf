// The host uniform stream: cuRAND's host Philox generator when the CUDA toolkit is present (it needs no
// GPU), otherwise the same sequence computed by kernels/philox.h.
#include <memory>
#include <string>
#include <type_traits>

#include "cpu/cpu_parts.h"
#include "kernels/parallel_for.h"
#include "kernels/philox.h"

#if MAGCNN_HAVE_CURAND
#include "curand_status.h"
#endif

namespace magcnn::cpu {
namespace {

#if MAGCNN_HAVE_CURAND
class CurandHostStream final : public UniformStream {
 public:
  explicit CurandHostStream(uint64_t seed) {
    curandGenerator_t gen = nullptr;
    MAGCNN_CHECK(curandCreateGeneratorHost(&gen, CURAND_RNG_PSEUDO_PHILOX4_32_10));
    gen_.reset(gen);
    MAGCNN_CHECK(curandSetPseudoRandomGeneratorSeed(gen_.get(), seed));
  }
  void generate(double* out, int64_t count) override {
    MAGCNN_CHECK(curandGenerateUniformDouble(gen_.get(), out, static_cast<std::size_t>(count)));
  }

 private:
  std::unique_ptr<std::remove_pointer_t<curandGenerator_t>, decltype(&curandDestroyGenerator)> gen_{
      nullptr, &curandDestroyGenerator};
};
#endif

class PhiloxHostStream final : public UniformStream {
 public:
  explicit PhiloxHostStream(uint64_t seed) : seed_(seed) {}
  void generate(double* out, int64_t count) override {
    const uint64_t first = position_, seed = seed_;
    kern::cpu_for(count, [=](int64_t i) { out[i] = kern::curand_philox_uniform_double(seed, first + static_cast<uint64_t>(i)); });
    position_ += static_cast<uint64_t>(count);
  }

 private:
  uint64_t seed_;
  uint64_t position_ = 0;
};

}  // namespace

std::unique_ptr<UniformStream> make_host_uniform_stream(uint64_t seed) {
#if MAGCNN_HAVE_CURAND
  return std::make_unique<CurandHostStream>(seed);
#else
  return std::make_unique<PhiloxHostStream>(seed);
#endif
}

// Exposed for the test that checks the two agree.
std::unique_ptr<UniformStream> make_builtin_philox_stream(uint64_t seed) {
  return std::make_unique<PhiloxHostStream>(seed);
}

}  // namespace magcnn::cpu
