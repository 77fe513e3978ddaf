// kernels/philox.h reproduces cuRAND's host Philox generator, so that builds without the CUDA toolkit
// draw the same data sets.
#include <gtest/gtest.h>

#include <vector>

#include "cpu/cpu_parts.h"
#include "reference.h"

namespace magcnn::test {
namespace {

TEST(Random, BuiltinPhiloxMatchesCurandHostGenerator) {
#if MAGCNN_HAVE_CURAND
  for (const uint64_t seed : {uint64_t{0}, uint64_t{1}, fresh_seed()}) {
    auto curand = cpu::make_host_uniform_stream(seed);
    auto builtin = cpu::make_builtin_philox_stream(seed);
    // Calls of awkward lengths, crossing the 65536-subsequence boundary: the sequence continues across calls.
    for (const int64_t n : {int64_t{7}, int64_t{3}, int64_t{262143}, int64_t{70001}}) {
      std::vector<double> a(n), b(n);
      curand->generate(a.data(), n);
      builtin->generate(b.data(), n);
      ASSERT_EQ(a, b) << "seed " << seed << ", call of " << n;
    }
  }
#else
  GTEST_SKIP() << "built without the CUDA toolkit: no cuRAND host generator to compare with";
#endif
}

TEST(Random, UniformsLieInTheOpenUnitIntervalFromTheLeft) {
  auto s = cpu::make_builtin_philox_stream(fresh_seed());
  std::vector<double> u(100000);
  s->generate(u.data(), static_cast<int64_t>(u.size()));
  double mean = 0;
  for (const double v : u) {
    ASSERT_GT(v, 0.0);
    ASSERT_LE(v, 1.0);
    mean += v;
  }
  EXPECT_NEAR(mean / u.size(), 0.5, 0.005);
}

}  // namespace
}  // namespace magcnn::test
