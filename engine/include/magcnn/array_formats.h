// Field maps that users bring from other programs: NumPy .npy arrays and 8-bit grayscale PNG images.
// Such files are written by code magcnn does not know, so every reader checks the file's own description
// of itself (type, order, shape, sizes) against the file's length and the memory available before it
// allocates or reads anything, and refuses with an InvalidInput that names the file, says what is wrong
// and what would be accepted.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace magcnn {

// A real array read from a file: its shape ([H, W] or [N, H, W]) and its values as double, in C order.
struct RealArray {
  std::vector<int64_t> shape;
  std::vector<double> values;
  std::string stored_type;  // the element type in the file, before conversion: "float32" or "float64"
};

// A NumPy .npy file, format version 1.0, 2.0 or 3.0, holding float32 or float64 of either byte order
// ('<f4', '>f4', '<f8', '>f8') in C order with shape [H, W] or [N, H, W], every dimension at least 1.
// Values are not checked for finiteness (the caller does that, saying where). Throws InvalidInput for
// anything else: other element types, Fortran order, other ranks, an empty shape, a header that does not
// parse, data shorter or longer than the shape says, a file that is not a .npy file.
RealArray read_npy(const std::string& path);

// Writes a .npy file (version 1.0, little-endian float64, or float32 when `as_float32`) of any shape, for
// tests and small exports: written in place, not atomically. Throws Error when the file cannot be written.
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const double* values, bool as_float32 = false);

// An 8-bit grayscale image, row-major, row 0 = the image's top row.
struct GrayImage {
  int64_t height = 0, width = 0;
  std::vector<uint8_t> pixels;  // height * width
};

// A PNG image of color type gray, bit depth 8 (interlaced or not), at most 32768 x 32768 pixels and
// fitting in host memory. Throws InvalidInput for every other kind of PNG (RGB, palette, gray with alpha,
// 1-, 2-, 4- or 16-bit gray: convert it to 8-bit grayscale) and for a file that is damaged, truncated
// or not a PNG image.
GrayImage read_png_gray8(const std::string& path);

// Writes `image` as an 8-bit grayscale PNG, for tests and figures; throws Error when it cannot be written.
void write_png_gray8(const std::string& path, const GrayImage& image);

}  // namespace magcnn
