// The forward model: the stray field at the sensor plane from magnetization maps of a thin film, as Bz or
// as its component B . u along any unit vector u (Bx, By, the axis of an NV centre).
//
// "exact": every pixel is a uniformly magnetized cuboid; Bz = Kx * mx + Ky * my + Kz * mz is an aperiodic
// convolution done by FFT on a zero-padded grid (Hockney's method), with the cell kernels evaluated in
// double and their spectra computed once per model; B . u adds the in-plane kernels (kernels/cell_kernel.h)
// and combines the six spectra once, so that a map costs 1 to 11% more than Bz's (bench/RESULTS.md). "spectral": the thin-film transfer function applied
// on the same padded grid (no cell kernels to compute; wrong by tens of percent when the standoff is
// near the pixel size: README, Physics, has the measured table).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "magcnn/backend.h"
#include "magcnn/geometry.h"
#include "magcnn/tensor.h"

namespace magcnn {

enum class ForwardMethod { Exact, Spectral };
ForwardMethod parse_forward_method(const std::string& text);
const char* forward_method_name(ForwardMethod m);

// Bz in tesla, or the dimensionless b = Bz 2 d / (mu0 Ms t) the network sees.
enum class FieldUnit { Tesla, Normalized };

constexpr double kMu0 = 1.25663706212e-6;  // vacuum permeability, T m / A

// The unit vector u of the field component B . u, in the film's frame: x along the map's columns, y along
// its rows, z up from the film towards the sensor. (0, 0, 1), Bz, by default.
struct FieldAxis {
  double x = 0, y = 0, z = 1;
  bool is_z() const { return x == 0 && y == 0 && z == 1; }
  // Throws InvalidInput unless every component is finite and |u| is 1 to within 1e-9.
  void validate() const;
  // "z", "x", "y", or "(ux, uy, uz)" with 6 digits.
  std::string describe() const;
  // What parse_field_axis reads back exactly: "z", "x", "y" or "ux,uy,uz" with 17 digits.
  std::string text() const;
};
// u from polar angle theta (from +z) and azimuth phi (from +x towards +y), in degrees.
FieldAxis field_axis_from_angles(double polar_deg, double azimuth_deg);
// u = v / |v|; throws InvalidInput for a vector of zero or non-finite length.
FieldAxis field_axis_from_vector(double x, double y, double z);
// An axis as users write it (flags, configuration files, model files): "z", "x", "y", "THETA,PHI" (polar
// angle from +z and azimuth from +x, degrees) or "UX,UY,UZ" (normalized). InvalidInput otherwise.
FieldAxis parse_field_axis(const std::string& text);
// Whether two axes are the same to within 1e-6 (angles written to four digits meet it).
bool same_axis(const FieldAxis& a, const FieldAxis& b);

struct ForwardOptions {
  ForwardMethod method = ForwardMethod::Exact;
  FieldAxis axis;  // the component computed: B . axis
  FieldUnit unit = FieldUnit::Tesla;
  int64_t max_batch = 1;      // maps per call, at most
  int64_t output_stride = 1;  // keep every s-th pixel in y and x, starting at pixel 0
  // Real type of maps and fields; defaults to the backend's (double on the CPU, float on the GPU).
  DType dtype = DType::F32;
  bool dtype_from_backend = true;
};

class ForwardModel {
 public:
  // Plans for ny x nx maps: computes the kernel spectra, plans the FFTs for max_batch maps and sizes every
  // workspace, so that compute() allocates and plans nothing, whatever its batch (a partial batch costs as
  // much as a full one). Refuses, before allocating, a model whose memory (memory_bytes) exceeds what the
  // backend has available.
  ForwardModel(Backend& backend, const FilmGeometry& geometry, int64_t ny, int64_t nx, ForwardOptions options);
  ~ForwardModel();
  ForwardModel(const ForwardModel&) = delete;
  ForwardModel& operator=(const ForwardModel&) = delete;

  // mx, my, mz: [N, ny, nx] with 1 <= N <= max_batch, on this model's backend, of its dtype.
  // bz: [N, out_ny, out_nx], the field component of the options' axis (Bz by default), in their unit.
  void compute(const TensorView& mx, const TensorView& my, const TensorView& mz, const TensorView& bz);
  // m = shape * direction: shape [N, ny, nx], direction [N, 3] (unit vectors). One FFT per map.
  void compute_collinear(const TensorView& shape, const TensorView& direction, const TensorView& bz);

  // For callers that draw shapes themselves (the generator): the model's own input slots [N, P, Q], whose
  // padding is zero and stays zero. Write each shape into the top-left ny x nx corner, then call
  // compute_collinear_prepared; nothing is copied.
  TensorView collinear_input(int64_t n) const;
  void compute_collinear_prepared(const TensorView& direction, const TensorView& bz);

  int64_t ny() const { return ny_; }
  int64_t nx() const { return nx_; }
  int64_t out_ny() const;
  int64_t out_nx() const;
  int64_t padded_ny() const { return P_; }
  int64_t padded_nx() const { return Q_; }
  DType dtype() const { return dtype_; }
  const ForwardOptions& options() const { return options_; }
  Backend& backend() const { return backend_; }

  // About how many bytes of the backend's memory a model takes at its peak (construction), for the check
  // above and for callers choosing max_batch.
  static double memory_bytes(const Backend& backend, int64_t ny, int64_t nx, const ForwardOptions& options);
  // Maps per compute() call for n maps of ny x nx: workspaces of about 1 GB, at least 1, at most n (what
  // magcnn-forward and the Python module use, so that both plan the same transforms).
  static int64_t suggested_batch(const Backend& backend, int64_t n, int64_t ny, int64_t nx);
  // The largest map side accepted (cuFFT's sizes are 32-bit; no memory holds such a map anyway).
  static constexpr int64_t kMaxSide = int64_t{1} << 24;

  // The kernel spectra's planes [planes, P, Q/2+1], each / (PQ): for Bz three (Kx imaginary, Ky
  // imaginary, Kz real parts), for another axis six (real and imaginary parts for mx, my, mz).
  const Tensor& spectra() const { return spectra_; }

 private:
  struct Workspace;
  void check_maps(const TensorView& t, const char* name, int64_t rank, int64_t last) const;
  void check_field(const TensorView& bz, int64_t n) const;
  void finish(int64_t n, const TensorView& bz);

  Backend& backend_;
  FilmGeometry geometry_;
  ForwardOptions options_;
  DType dtype_;
  int64_t ny_, nx_, P_, Q_;
  Tensor spectra_;
  std::unique_ptr<Workspace> work_;
  std::unique_ptr<FftPlan> forward_plan_, inverse_plan_;  // for max_batch maps
};

// Smallest n >= minimum of the form multiple * m where m has no prime factor above 7: a fast FFT size when
// `multiple` has none either (then n has none), and still a valid one when it has.
int64_t fft_friendly_size(int64_t minimum, int64_t multiple = 1);

}  // namespace magcnn
