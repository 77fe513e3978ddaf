// A whole set of the generator's samples on the host, for the studies that train and score in one
// process (magcnn-noise-study, magcnn-vector-study).
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "magcnn/generator.h"
#include "magcnn/interrupt.h"

namespace magcnn::bench {

struct GeneratedSet {
  int64_t count = 0;
  std::vector<float> b, target;   // [count, img, img] and [count, C, img, img]
  std::vector<double> params;     // [count, kStoredEllipseParams]
  std::vector<double> directions;  // [count, 3]: each sample's unit magnetization direction
};

inline GeneratedSet generate_set(Backend& backend, const GeneratorSettings& s) {
  GeneratedSet h;
  h.count = s.count;
  Generator gen(backend, s);
  SampleBatch batch;
  for (int64_t done = 0; done < s.count; done += batch.count) {
    throw_if_interrupted();
    gen.next(std::min(gen.batch_capacity(), s.count - done), batch);
    h.b.insert(h.b.end(), batch.b.begin(), batch.b.end());
    h.target.insert(h.target.end(), batch.target.begin(), batch.target.end());
    h.params.insert(h.params.end(), batch.params.begin(), batch.params.end());
    for (int64_t i = 0; i < batch.count; ++i) {
      const double theta = batch.params[static_cast<std::size_t>(i * kStoredEllipseParams)],
                   phi = batch.params[static_cast<std::size_t>(i * kStoredEllipseParams + 1)];
      h.directions.insert(h.directions.end(), {std::sin(theta) * std::cos(phi), std::sin(theta) * std::sin(phi), std::cos(theta)});
    }
  }
  return h;
}

}  // namespace magcnn::bench
