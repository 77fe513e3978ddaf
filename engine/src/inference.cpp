#include "magcnn/inference.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "magcnn/forward_model.h"
#include "magcnn/interrupt.h"
#include "magcnn/memory.h"

namespace magcnn {
namespace {

// The model's grid: one pixel per standoff. A training set is on it already.
double model_pixel(const MapGrid& g) { return g.normalized ? g.geometry.pixel_size_m : g.geometry.standoff_m; }

int64_t model_side(int64_t n, const MapGrid& g) {
  return g.normalized ? n : resampled_size(n, g.geometry.pixel_size_m, g.geometry.standoff_m);
}

}  // namespace

Inference::Inference(Backend& backend, const ModelFile& model, const MapGrid& grid, const InferenceOptions& options)
    : grid_(grid),
      to_model_(grid.ny, grid.nx, grid.geometry.pixel_size_m, model_side(grid.ny, grid), model_side(grid.nx, grid), model_pixel(grid)),
      from_model_(to_model_.ny_out(), to_model_.nx_out(), model_pixel(grid), grid.ny, grid.nx, grid.geometry.pixel_size_m) {
  grid.geometry.validate();
  // The component first, before anything is allocated for maps that would be refused anyway.
  const FieldAxis axis = parse_field_axis(model.config.data.field_axis);
  if (grid.axis)
    MAGCNN_REQUIRE(same_axis(*grid.axis, axis),
                   "the maps hold the field along " << grid.axis->describe() << " (B . u), but " << model.config.source
                                                    << " was trained on the field along " << axis.describe()
                                                    << ": give maps of the model's component, or a model trained for this one (data.field_axis)");
  MAGCNN_REQUIRE(model_ny() >= 4 && model_nx() >= 4,
                 "the map covers " << model_ny() << " x " << model_nx()
                                   << " standoffs (its pixel size times its pixels, over d); the network needs at least 4 x 4");
  if (!grid.normalized) to_b_ = grid.tesla_per_unit * 2 * grid.geometry.standoff_m / (kMu0 * grid.geometry.Ms_A_per_m * grid.geometry.thickness_m);
  PredictorOptions p = options.predictor;
  predictor_ = std::make_unique<Predictor>(backend, model, model_ny(), model_nx(), p);
  target_ = model.config.data.target;
  MAGCNN_REQUIRE(predictor_->out_channels() == target_channels(target_),
                 model.config.source << ": a " << target_kind_name(target_) << " model must have " << target_channels(target_)
                                     << " output channel(s); this one has " << predictor_->out_channels());
  const auto model_plane = static_cast<std::size_t>(model_ny() * model_nx());
  const auto maps = static_cast<std::size_t>(maps_per_pass());
  const int64_t residual_maps = options.residual ? FieldResidual::maps_that_fit(backend, grid.ny, grid.nx, maps_per_pass(), axis) : 0;
  // The host's own planes, checked before they are allocated: a coarse map on a fine model grid (a
  // pixel of many standoffs) makes them large from a small file.
  const double plane_bytes = static_cast<double>(model_plane) * sizeof(float);
  const double host_bytes = plane_bytes * static_cast<double>(maps) * static_cast<double>(1 + 2 * predictor_->out_channels()) +
                            static_cast<double>(grid.ny * grid.nx) * sizeof(float) * static_cast<double>(maps + 6 * residual_maps);
  require_memory(host_bytes, host_memory_available(),
                 "inference on maps of " + std::to_string(grid.ny) + " x " + std::to_string(grid.nx) + " pixels (" +
                     std::to_string(model_ny()) + " x " + std::to_string(model_nx()) + " on the model's grid)");
  residual_in_run_ = options.residual_in_run;
  if (options.residual) {
    const FieldUnit unit = grid.normalized ? FieldUnit::Normalized : FieldUnit::Tesla;
    residual_ = std::make_unique<FieldResidual>(backend, grid.geometry, grid.ny, grid.nx, unit, residual_maps, axis);
  }
  b_.resize(maps * model_plane);
  for (std::vector<float>& y : y_) y.resize(maps * model_plane * static_cast<std::size_t>(predictor_->out_channels()));
  phis_.reserve(maps);
  if (grid.tesla_per_unit != 1 && !grid.normalized) measured_.resize(maps * static_cast<std::size_t>(grid.ny * grid.nx));
}

Inference::~Inference() = default;

// Maps [first, first + n) onto the model's grid, normalized, into b_.
void Inference::prepare(const float* field, int64_t first, int64_t n, int64_t file_index) {
  const int64_t plane = grid_.ny * grid_.nx, model_plane = model_ny() * model_nx();
  for (int64_t i = 0; i < n; ++i) {
    float* b = b_.data() + i * model_plane;
    to_model_.apply(field + (first + i) * plane, b);
    if (to_b_ != 1)
      for (int64_t p = 0; p < model_plane; ++p) b[p] = static_cast<float>(b[p] * to_b_);
  }
  // The network saw |b| below about 1 (a film of |m| <= 1 gives no more); far beyond, its output
  // means nothing: almost surely a wrong Ms, thickness or unit.
  for (int64_t i = 0; i < n * model_plane; ++i)
    MAGCNN_REQUIRE(std::fabs(b_[i]) <= kMaxNormalizedField,
                   "map " << file_index + first + i / model_plane << ": the normalized field b = Bz 2d / (mu0 Ms t) reaches " << b_[i]
                          << "; a film with |m| <= 1 gives |b| below about 1: check Ms, the thickness and the unit");
  b_last_.assign(b_.begin() + (n - 1) * model_plane, b_.begin() + n * model_plane);
}

// The network's output y for maps [first, first + n) back onto the input's grid, and their residuals.
void Inference::conclude(const float* field, const std::vector<float>& y, int64_t first, int64_t n, int64_t file_index,
                         const std::optional<std::array<double, 3>>* directions, float* prediction, ResidualReport* reports) {
  const int64_t plane = grid_.ny * grid_.nx, model_plane = model_ny() * model_nx(), C = predictor_->out_channels();
  // |m| <= 1 and theta <= pi: an output far beyond comes from a damaged or diverged model, not the data.
  for (int64_t i = 0; i < n * C * model_plane; ++i)
    MAGCNN_REQUIRE(std::fabs(y[i]) <= kMaxPrediction, "map " << file_index + first + i / (C * model_plane) << ": the network predicts "
                                                              << y[i] << ", far beyond |m| <= 1 (or theta <= pi): is the model damaged or diverged?");
  for (int64_t i = 0; i < n * C; ++i) {
    const float* yi = y.data() + i * model_plane;
    float* out = prediction + (first * C + i) * plane;
    from_model_.apply(yi, out);
    if (!from_model_.identity()) {
      // Cubic interpolation rings at the sharp edges of a film; the result stays within what the
      // network predicted.
      const auto [lo, hi] = std::minmax_element(yi, yi + model_plane);
      for (int64_t p = 0; p < plane; ++p) out[p] = std::clamp(out[p], *lo, *hi);
    }
  }
  if (residual_ && residual_in_run_) evaluate_residuals(field, first, n, directions, prediction, reports);
}

void Inference::residuals(const float* field, int64_t count, const std::optional<std::array<double, 3>>* directions,
                          const float* prediction, ResidualReport* reports) {
  MAGCNN_REQUIRE(residual_ != nullptr, "Inference::residuals: made without a residual (InferenceOptions::residual)");
  // A pass's maps at a time: the unit conversion's buffer holds that many.
  for (int64_t first = 0; first < count; first += maps_per_pass())
    evaluate_residuals(field, first, std::min(maps_per_pass(), count - first), directions, prediction, reports);
}

// The residuals of maps [first, first + n) of `field` and `prediction` (both indexed from the same first map).
void Inference::evaluate_residuals(const float* field, int64_t first, int64_t n, const std::optional<std::array<double, 3>>* directions,
                                   const float* prediction, ResidualReport* reports) {
  const int64_t plane = grid_.ny * grid_.nx, C = predictor_->out_channels();
  const float* measured = field + first * plane;
  if (!measured_.empty()) {
    for (int64_t p = 0; p < n * plane; ++p) measured_[p] = static_cast<float>(measured[p] * grid_.tesla_per_unit);
    measured = measured_.data();
  }
  for (int64_t done = 0; done < n; done += residual_->max_maps()) {
    const int64_t k = std::min(residual_->max_maps(), n - done);
    const std::optional<std::array<double, 3>>* known = directions ? directions + first + done : nullptr;
    if (target_ == TargetKind::Vector) {
      residual_->evaluate_vector(k, prediction + (first + done) * C * plane, measured + done * plane, reports + first + done);
      continue;
    }
    if (target_ == TargetKind::Shape) {
      residual_->evaluate(k, prediction + (first + done) * plane, measured + done * plane, known, reports + first + done);
      continue;
    }
    // A polar prediction gives theta; of a known direction only its azimuth is used.
    phis_.assign(static_cast<std::size_t>(k), std::nullopt);
    for (int64_t i = 0; known != nullptr && i < k; ++i)
      if (known[i]) phis_[static_cast<std::size_t>(i)] = std::atan2((*known[i])[1], (*known[i])[0]);
    residual_->evaluate_polar(k, prediction + (first + done) * plane, measured + done * plane, phis_.data(), reports + first + done);
  }
}

// Group g + 1 is prepared and group g - 1 concluded while the device runs group g.
void Inference::run(const float* field, int64_t count, const std::optional<std::array<double, 3>>* directions, float* prediction,
                    ResidualReport* reports, int64_t file_index) {
  const int64_t G = maps_per_pass();
  int64_t previous = -1, previous_n = 0;
  for (int64_t first = 0, g = 0; first < count; first += G, ++g) {
    // A stop between passes, the pass in flight finished first: a launcher that ends a run kills what
    // has not stopped within a second (Open MPI), and a chunk of many passes takes longer.
    if (interrupt_signal() != 0) {
      predictor_->finish();
      throw_if_interrupted();
    }
    const int64_t n = std::min(G, count - first);
    prepare(field, first, n, file_index);
    predictor_->submit(b_.data(), n, y_[g % 2].data());
    if (previous >= 0) conclude(field, y_[(g - 1) % 2], previous, previous_n, file_index, directions, prediction, reports);
    previous = first;
    previous_n = n;
  }
  predictor_->finish();
  if (previous >= 0) {
    const int64_t groups = (count + G - 1) / G;
    conclude(field, y_[(groups - 1) % 2], previous, previous_n, file_index, directions, prediction, reports);
  }
}

std::string Inference::describe_resampling() const {
  char text[320];
  if (to_model_.identity()) {
    std::snprintf(text, sizeof text, "none: the maps are on the model's grid (%lld x %lld, 1 pixel = d)",
                  static_cast<long long>(model_ny()), static_cast<long long>(model_nx()));
  } else {
    std::snprintf(text, sizeof text,
                  "%lld x %lld pixels of %.4g d onto the model's %lld x %lld (1 pixel = d) and back: separable cubic "
                  "convolution (Keys, a = -1/2), antialiased when coarsening",
                  static_cast<long long>(grid_.ny), static_cast<long long>(grid_.nx),
                  grid_.geometry.pixel_size_m / grid_.geometry.standoff_m, static_cast<long long>(model_ny()),
                  static_cast<long long>(model_nx()));
  }
  return text;
}

}  // namespace magcnn
