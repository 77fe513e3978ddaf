// Running the forward model on host vectors, for tests on any backend.
#pragma once

#include <vector>

#include "magcnn/forward_model.h"

namespace magcnn::test {

// Maps [n, ny, nx] in double on the host; returns bz [n, out_ny, out_nx] in double.
inline std::vector<double> run_forward(Backend& backend, const FilmGeometry& g, int64_t n, int64_t ny, int64_t nx,
                                       const std::vector<double>& mx, const std::vector<double>& my,
                                       const std::vector<double>& mz, ForwardOptions options = {}) {
  options.max_batch = std::max(options.max_batch, n);
  ForwardModel model(backend, g, ny, nx, options);
  const DType dt = model.dtype();
  auto upload = [&](const std::vector<double>& v) {
    Tensor t(backend, dt, Shape{n, ny, nx});
    if (dt == DType::F64) {
      t.upload(v);
    } else {
      t.upload(std::vector<float>(v.begin(), v.end()));
    }
    return t;
  };
  Tensor tx = upload(mx), ty = upload(my), tz = upload(mz);
  Tensor bz(backend, dt, Shape{n, model.out_ny(), model.out_nx()});
  model.compute(tx, ty, tz, bz);
  if (dt == DType::F64) return bz.to_host<double>();
  const std::vector<float> f = bz.to_host<float>();
  return std::vector<double>(f.begin(), f.end());
}

}  // namespace magcnn::test
