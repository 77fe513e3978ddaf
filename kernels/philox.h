// cuRAND's Philox4x32-10 uniform-double stream, written out so that a build without the CUDA toolkit
// draws the same numbers. Layout (measured against curandGenerateUniformDouble on the host generator, and
// checked by tests/test_random.cpp whenever cuRAND is present): the generator runs 65536 subsequences;
// output i belongs to block b = i / 4 of subsequence b % 65536 at step b / 65536, each block being two
// Philox counters {2 step + j, 0, subsequence, 0}, each counter giving two doubles from (x, y) and (z, w).
#pragma once

#include "hd.h"

namespace magcnn::kern {

struct PhiloxBlock {
  uint32_t x, y, z, w;
};

MAGCNN_HD uint32_t mulhi32(uint32_t a, uint32_t b) {
  return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
}

MAGCNN_HD PhiloxBlock philox4x32_10(PhiloxBlock c, uint32_t k0, uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    const uint32_t hi0 = mulhi32(0xD2511F53u, c.x), lo0 = 0xD2511F53u * c.x;
    const uint32_t hi1 = mulhi32(0xCD9E8D57u, c.z), lo1 = 0xCD9E8D57u * c.z;
    c = PhiloxBlock{hi1 ^ c.y ^ k0, lo1, hi0 ^ c.w ^ k1, lo0};
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return c;
}

// cuRAND's 53-bit conversion (_curand_uniform_double_hq): a double in (0, 1].
MAGCNN_HD double philox_to_double(uint32_t lo, uint32_t hi) {
  const uint64_t z = static_cast<uint64_t>(lo) ^ (static_cast<uint64_t>(hi) << 21);
  const double two_pow_minus_53 = 1.1102230246251565404e-16;
  return static_cast<double>(z) * two_pow_minus_53 + two_pow_minus_53 / 2.0;
}

MAGCNN_HD double curand_philox_uniform_double(uint64_t seed, uint64_t index) {
  const uint64_t block = index / 4;
  const uint64_t subsequence = block % 65536u, step = block / 65536u;
  const uint64_t counter = 2 * step + (index % 4) / 2;
  const PhiloxBlock out = philox4x32_10(
      PhiloxBlock{static_cast<uint32_t>(counter), static_cast<uint32_t>(counter >> 32),
                  static_cast<uint32_t>(subsequence), 0u},
      static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
  return index % 2 == 0 ? philox_to_double(out.x, out.y) : philox_to_double(out.z, out.w);
}

}  // namespace magcnn::kern
