// The CPU side of "one formula, two loops": an OpenMP loop over an element functor. The CUDA side is the
// grid-stride kernel in kernels/cuda/launch.cuh around the same functor.
#pragma once

#include <cstdint>

namespace magcnn::kern {

template <class F>
void cpu_for(int64_t n, const F& f) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) f(i);
}

// For element functions whose cost varies a lot between elements (cell kernels: near field vs far field).
template <class F>
void cpu_for_dynamic(int64_t n, const F& f) {
#pragma omp parallel for schedule(dynamic, 256)
  for (int64_t i = 0; i < n; ++i) f(i);
}

}  // namespace magcnn::kern
