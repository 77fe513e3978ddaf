// The readers of field maps that users bring from other programs (array_formats.h): .npy and 8-bit
// grayscale PNG. Round trips with fresh random values; files written byte by byte (big-endian, format
// versions 2.0 and 3.0, whitespace and key order as other writers produce them) and by libpng directly
// (interlaced, other color types and depths); and one refusal per kind of damage or unsupported content,
// each an InvalidInput of one line that names the file.
#include <gtest/gtest.h>
#include <png.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "magcnn/array_formats.h"
#include "magcnn/error.h"
#include "reference.h"
#include "temp_dir.h"

namespace magcnn::test {
namespace {

namespace fs = std::filesystem;
using NpyFiles = TempDirTest;
using PngFiles = TempDirTest;

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The message of the InvalidInput that `f` throws, checked to name `file` and to be one line ("" and a
// test failure if `f` throws nothing or another type).
template <class F>
std::string refusal(const std::string& file, F&& f) {
  try {
    f();
  } catch (const InvalidInput& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(file), std::string::npos) << "the message does not name the file: " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
    return message;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not an InvalidInput: " << e.what();
    return "";
  }
  ADD_FAILURE() << "accepted " << file;
  return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// ---------------------------------------------------------------------------------------------------
// .npy

// A .npy file as other programs write one: the magic string, format version `major`.0, the header length
// in 2 (version 1) or 4 bytes, `dict` padded with spaces and a newline to a multiple of `align`, the data.
std::string npy_bytes(int major, const std::string& dict, const std::string& data, std::size_t align = 64) {
  const std::size_t preamble = major == 1 ? 10 : 12;
  std::string header = dict;
  header.append((align - (preamble + header.size() + 1) % align) % align, ' ');
  header.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back(static_cast<char>(major));
  out.push_back('\0');
  for (std::size_t i = 0; i < preamble - 8; ++i) out.push_back(static_cast<char>((header.size() >> (8 * i)) & 0xff));
  return out + header + data;
}

std::string hex_bytes(std::initializer_list<unsigned> bytes) {
  std::string s;
  for (const unsigned b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

std::string little_endian_doubles(const std::vector<double>& values) {
  std::string s;
  for (const double v : values) {
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof bits);
    for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
  }
  return s;
}

void expect_same_bits(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(std::memcmp(&got[i], &want[i], sizeof(double)), 0) << "value " << i << ": " << got[i] << " vs " << want[i];
}

TEST_F(NpyFiles, Float64RoundTripIsBitExact) {
  std::mt19937_64 rng(fresh_seed());
  for (const std::vector<int64_t>& shape : {std::vector<int64_t>{7, 5}, std::vector<int64_t>{3, 4, 6}}) {
    std::vector<double> values = uniform_values(rng, shape[0] * shape[1] * (shape.size() == 3 ? shape[2] : 1), 1e3);
    values[0] = -0.0;
    values[1] = std::numeric_limits<double>::denorm_min();
    values[2] = std::numeric_limits<double>::max();
    write_npy(path("a.npy"), shape, values.data());
    const RealArray a = read_npy(path("a.npy"));
    EXPECT_EQ(a.shape, shape);
    EXPECT_EQ(a.stored_type, "float64");
    expect_same_bits(a.values, values);
  }
}

TEST_F(NpyFiles, Float32RoundTripKeepsEveryFloat) {
  std::mt19937_64 rng(fresh_seed());
  for (const std::vector<int64_t>& shape : {std::vector<int64_t>{9, 4}, std::vector<int64_t>{2, 3, 5}}) {
    const std::vector<double> values =
        uniform_values(rng, shape[0] * shape[1] * (shape.size() == 3 ? shape[2] : 1), 50.0);
    write_npy(path("a.npy"), shape, values.data(), true);
    EXPECT_EQ(fs::file_size(path("a.npy")), 128 + values.size() * 4);  // numpy's 64-byte alignment
    const RealArray a = read_npy(path("a.npy"));
    EXPECT_EQ(a.shape, shape);
    EXPECT_EQ(a.stored_type, "float32");
    ASSERT_EQ(a.values.size(), values.size());
    for (std::size_t i = 0; i < values.size(); ++i)
      EXPECT_EQ(a.values[i], static_cast<double>(static_cast<float>(values[i]))) << "value " << i;
  }
}

TEST_F(NpyFiles, NonFiniteValuesAreLeftToTheCaller) {
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> values = {std::nan(""), inf, -inf, 1.0};
  write_npy(path("a.npy"), {2, 2}, values.data());
  const RealArray a = read_npy(path("a.npy"));
  EXPECT_TRUE(std::isnan(a.values[0]));
  EXPECT_EQ(a.values[1], inf);
  EXPECT_EQ(a.values[2], -inf);
}

TEST_F(NpyFiles, BigEndianFilesWrittenByHand) {
  const std::string f8 = hex_bytes({0x3F, 0xF0, 0, 0, 0, 0, 0, 0,                   // 1.0
                                    0xC0, 0x04, 0, 0, 0, 0, 0, 0,                   // -2.5
                                    0x3F, 0xB9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9A,  // 0.1
                                    0, 0, 0, 0, 0, 0, 0, 0,                         // 0.0
                                    0x40, 0x90, 0, 0, 0, 0, 0, 0,                   // 1024.0
                                    0xBF, 0xE0, 0, 0, 0, 0, 0, 0});                 // -0.5
  write_bytes(path("f8.npy"), npy_bytes(1, "{'descr': '>f8', 'fortran_order': False, 'shape': (2, 3), }", f8));
  const RealArray a = read_npy(path("f8.npy"));
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.stored_type, "float64");
  EXPECT_EQ(a.values, (std::vector<double>{1.0, -2.5, 0.1, 0.0, 1024.0, -0.5}));

  const std::string f4 = hex_bytes({0x3F, 0x80, 0, 0, 0xC0, 0x20, 0, 0, 0x3F, 0, 0, 0, 0x40, 0x40, 0, 0});
  write_bytes(path("f4.npy"), npy_bytes(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1, 2, 2), }", f4));
  const RealArray b = read_npy(path("f4.npy"));
  EXPECT_EQ(b.shape, (std::vector<int64_t>{1, 2, 2}));
  EXPECT_EQ(b.stored_type, "float32");
  EXPECT_EQ(b.values, (std::vector<double>{1.0, -2.5, 0.5, 3.0}));

  const std::string le4 = hex_bytes({0, 0, 0x80, 0x3F, 0, 0, 0x20, 0xC0});
  write_bytes(path("le4.npy"), npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", le4, 16));
  EXPECT_EQ(read_npy(path("le4.npy")).values, (std::vector<double>{1.0, -2.5}));
}

TEST_F(NpyFiles, Versions2And3AnyKeyOrderAndWhitespace) {
  const std::vector<double> values = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const char* dicts[] = {"{ 'shape' : ( 2 , 2 , 3 , ) ,\n 'fortran_order':False,'descr':\"<f8\"}",
                         "{\"descr\": '<f8', \"shape\": (2, 2, 3), \"fortran_order\": False}",
                         "  {'fortran_order': False, 'descr': '<f8', 'shape': (2,2,3),}  "};
  for (const int major : {1, 2, 3})
    for (const char* dict : dicts) {
      SCOPED_TRACE(std::string("version ") + std::to_string(major) + ": " + dict);
      write_bytes(path("a.npy"), npy_bytes(major, dict, little_endian_doubles(values)));
      const RealArray a = read_npy(path("a.npy"));
      EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 2, 3}));
      EXPECT_EQ(a.values, values);
    }
}

TEST_F(NpyFiles, RefusesIntegers) {
  write_bytes(path("i.npy"),
              npy_bytes(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }", std::string(32, '\0')));
  const std::string m = refusal(path("i.npy"), [&] { read_npy(path("i.npy")); });
  EXPECT_TRUE(contains(m, "signed integers ('<i8')")) << m;
  EXPECT_TRUE(contains(m, "float32 or float64")) << m;
}

TEST_F(NpyFiles, RefusesOtherElementTypes) {
  for (const auto& [descr, size] : std::vector<std::pair<std::string, int>>{
           {"|O", 8}, {"<c16", 16}, {"<f2", 2}, {"=f8", 8}, {"|f8", 8}, {"|u1", 1}, {"|b1", 1}, {"<U3", 12}, {"<M8[s]", 8}}) {
    SCOPED_TRACE(descr);
    write_bytes(path("t.npy"), npy_bytes(1, "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (2, 2), }",
                                         std::string(static_cast<std::size_t>(4 * size), '\0')));
    const std::string m = refusal(path("t.npy"), [&] { read_npy(path("t.npy")); });
    EXPECT_TRUE(contains(m, "'" + descr + "'")) << m;
  }
}

TEST_F(NpyFiles, RefusesFortranOrder) {
  write_bytes(path("f.npy"),
              npy_bytes(1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", std::string(48, '\0')));
  EXPECT_TRUE(contains(refusal(path("f.npy"), [&] { read_npy(path("f.npy")); }), "Fortran order"));
}

TEST_F(NpyFiles, RefusesHeadersThatDoNotParse) {
  const std::string ok = "'descr': '<f8', 'fortran_order': False, ";
  const char* bad[] = {
      "",
      "{",
      "{}",
      "[1, 2]",
      "{'descr': '<f8', 'fortran_order': False}",                                   // no shape
      "{'descr': '<f8', 'shape': (2, 2)}",                                          // no fortran_order
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), 'extra': 1}",      // unknown key
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), 'shape': (2, 2)}",  // twice
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2)} x",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2),, }",
      "{'descr': '<f8' 'fortran_order': False, 'shape': (2, 2)}",
      "{'descr': '<f8', 'fortran_order': 0, 'shape': (2, 2)}",
      "{'descr': '<f8', 'fortran_order': false, 'shape': (2, 2)}",
      "{'descr': [('x', '<f8')], 'fortran_order': False, 'shape': (2, 2)}",
      "{'descr': '<f\\x38', 'fortran_order': False, 'shape': (2, 2)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': [2, 2]}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (4)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (-2, -2)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2.0, 2)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999, 1)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2)",
      "{'descr': '<f8, 'fortran_order': False, 'shape': (2, 2)}",
  };
  for (const char* dict : bad) {
    SCOPED_TRACE(dict);
    write_bytes(path("h.npy"), npy_bytes(1, dict, std::string(32, '\0')));
    const std::string m = refusal(path("h.npy"), [&] { read_npy(path("h.npy")); });
    EXPECT_TRUE(contains(m, ".npy header")) << m;
  }
  // A NUL or a byte beyond ASCII in the header, and a header cut short by its own length field.
  std::string nul = npy_bytes(1, "{" + ok + "'shape': (2, 2), }", std::string(32, '\0'));
  nul[12] = '\0';
  write_bytes(path("h.npy"), nul);
  refusal(path("h.npy"), [&] { read_npy(path("h.npy")); });
  std::string high = npy_bytes(1, "{'descr': '<f8\xe9', 'fortran_order': False, 'shape': (2, 2), }", std::string(32, '\0'));
  write_bytes(path("h.npy"), high);
  refusal(path("h.npy"), [&] { read_npy(path("h.npy")); });
  std::string cut = npy_bytes(1, "{" + ok + "'shape': (2, 2), }", std::string(32, '\0'));
  cut[8] = 20;  // the header now ends inside the dict
  write_bytes(path("h.npy"), cut);
  refusal(path("h.npy"), [&] { read_npy(path("h.npy")); });
}

TEST_F(NpyFiles, RefusesAHeaderLongerThanTheFile) {
  std::string bytes = npy_bytes(2, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", std::string(32, '\0'));
  bytes[8] = bytes[9] = bytes[10] = '\xff';  // 16 MB
  write_bytes(path("h.npy"), bytes);
  EXPECT_TRUE(contains(refusal(path("h.npy"), [&] { read_npy(path("h.npy")); }), "truncated"));
  bytes[8] = bytes[9] = bytes[10] = bytes[11] = '\xff';  // 4 GB
  write_bytes(path("h.npy"), bytes);
  refusal(path("h.npy"), [&] { read_npy(path("h.npy")); });
}

TEST_F(NpyFiles, RefusesTruncatedFiles) {
  const std::vector<double> values(12, 1.5);
  write_npy(path("full.npy"), {3, 4}, values.data());
  const std::string full = read_bytes(path("full.npy"));
  for (const std::size_t keep : {full.size() - 1, full.size() - 8, std::size_t{128}, std::size_t{100}, std::size_t{9}}) {
    SCOPED_TRACE(keep);
    write_bytes(path("cut.npy"), full.substr(0, keep));
    refusal(path("cut.npy"), [&] { read_npy(path("cut.npy")); });
  }
  write_bytes(path("cut.npy"), full.substr(0, full.size() - 3));
  const std::string m = refusal(path("cut.npy"), [&] { read_npy(path("cut.npy")); });
  EXPECT_TRUE(contains(m, "96 bytes of data, but 93 bytes follow")) << m;
}

TEST_F(NpyFiles, RefusesBytesAfterTheData) {
  const std::vector<double> values(12, 1.5);
  write_npy(path("full.npy"), {3, 4}, values.data());
  for (const std::size_t extra : {1, 8, 1000}) {
    SCOPED_TRACE(extra);
    write_bytes(path("long.npy"), read_bytes(path("full.npy")) + std::string(extra, '\x01'));
    const std::string m = refusal(path("long.npy"), [&] { read_npy(path("long.npy")); });
    EXPECT_TRUE(contains(m, "nothing after it")) << m;
  }
}

TEST_F(NpyFiles, RefusesShapesBeyondTheFile) {
  for (const char* shape : {"(4611686018427387904, 8)", "(1152921504606846976, 8)", "(2305843009213693952, 2)",
                            "(4294967296, 4294967296, 4294967296)", "(9223372036854775807, 1)", "(1000, 1000)"}) {
    SCOPED_TRACE(shape);
    write_bytes(path("s.npy"), npy_bytes(1, std::string("{'descr': '<f8', 'fortran_order': False, 'shape': ") +
                                                shape + ", }",
                                         std::string(64, '\0')));
    refusal(path("s.npy"), [&] { read_npy(path("s.npy")); });
  }
}

TEST_F(NpyFiles, RefusesAnEmptyMap) {
  for (const std::vector<int64_t>& shape : {std::vector<int64_t>{0, 4}, std::vector<int64_t>{3, 0, 4}}) {
    write_npy(path("e.npy"), shape, nullptr);
    EXPECT_TRUE(contains(refusal(path("e.npy"), [&] { read_npy(path("e.npy")); }), "empty map"));
  }
}

TEST_F(NpyFiles, RefusesRanksOtherThanTwoAndThree) {
  const std::vector<double> values(16, 0.25);
  for (const std::vector<int64_t>& shape : {std::vector<int64_t>{5}, std::vector<int64_t>{}, std::vector<int64_t>{2, 2, 2, 2}}) {
    write_npy(path("r.npy"), shape, values.data());
    const std::string m = refusal(path("r.npy"), [&] { read_npy(path("r.npy")); });
    EXPECT_TRUE(contains(m, "rank " + std::to_string(shape.size()))) << m;
  }
  write_npy(path("r.npy"), {5}, values.data());
  EXPECT_TRUE(contains(refusal(path("r.npy"), [&] { read_npy(path("r.npy")); }), "shape (5,)"));
}

TEST_F(NpyFiles, RefusesWhatIsNotANpyFile) {
  write_bytes(path("text.npy"), "Bz = [[1, 2], [3, 4]]\n");
  EXPECT_TRUE(contains(refusal(path("text.npy"), [&] { read_npy(path("text.npy")); }), "not a NumPy .npy file"));
  write_bytes(path("empty.npy"), "");
  refusal(path("empty.npy"), [&] { read_npy(path("empty.npy")); });
  write_bytes(path("magic_only.npy"), "\x93NUMPY");
  refusal(path("magic_only.npy"), [&] { read_npy(path("magic_only.npy")); });
  write_bytes(path("a.npz"), std::string("PK\x03\x04", 4) + std::string(100, '\0'));
  EXPECT_TRUE(contains(refusal(path("a.npz"), [&] { read_npy(path("a.npz")); }), ".npz archive"));
  GrayImage image{2, 2, {1, 2, 3, 4}};
  write_png_gray8(path("a.png"), image);
  refusal(path("a.png"), [&] { read_npy(path("a.png")); });
  EXPECT_TRUE(contains(refusal(path("missing.npy"), [&] { read_npy(path("missing.npy")); }), "no such file"));
  EXPECT_TRUE(contains(refusal(dir.string(), [&] { read_npy(dir.string()); }), "not a regular file"));
}

TEST_F(NpyFiles, RefusesOtherFormatVersions) {
  const std::string dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }";
  for (const auto& [major, minor] : std::vector<std::pair<int, int>>{{4, 0}, {1, 1}, {0, 0}, {2, 1}}) {
    std::string bytes = npy_bytes(major == 1 ? 1 : 2, dict, std::string(32, '\0'));
    bytes[6] = static_cast<char>(major);
    bytes[7] = static_cast<char>(minor);
    write_bytes(path("v.npy"), bytes);
    const std::string m = refusal(path("v.npy"), [&] { read_npy(path("v.npy")); });
    EXPECT_TRUE(contains(m, "version " + std::to_string(major) + "." + std::to_string(minor))) << m;
  }
}

TEST_F(NpyFiles, WriteFailuresThrowError) {
  const double v[4] = {1, 2, 3, 4};
  EXPECT_THROW(write_npy(path("no_such_dir/a.npy"), {2, 2}, v), Error);
  EXPECT_THROW(write_npy(path("a.npy"), {2, -2}, v), InvalidInput);
  EXPECT_THROW(write_npy(path("a.npy"), {2, 2}, nullptr), InvalidInput);
}

// ---------------------------------------------------------------------------------------------------
// PNG

struct RawPng {
  png_uint_32 width = 0, height = 0;
  int bit_depth = 8, color_type = PNG_COLOR_TYPE_GRAY;
  bool interlaced = false;
};

int channels(int color_type) {
  switch (color_type) {
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1;
  }
}

// libpng's calls, behind setjmp with nothing that has a destructor (the default error handler longjmps).
bool write_raw(png_structp png, png_infop info, std::FILE* file, const RawPng& r, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_init_io(png, file);
  png_set_IHDR(png, info, r.width, r.height, r.bit_depth, r.color_type,
               r.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_color palette[256];
  for (int i = 0; i < 256; ++i)
    palette[i] = {static_cast<png_byte>(i), static_cast<png_byte>(255 - i), static_cast<png_byte>(i / 2)};
  if (r.color_type == PNG_COLOR_TYPE_PALETTE) png_set_PLTE(png, info, palette, 1 << r.bit_depth);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  return true;
}

// Any kind of PNG, written by libpng itself: `data` holds the rows as PNG stores them, packed.
void write_raw_png(const std::string& path, const RawPng& r, std::vector<uint8_t> data) {
  const std::size_t row_bytes = (r.width * static_cast<std::size_t>(channels(r.color_type) * r.bit_depth) + 7) / 8;
  ASSERT_EQ(data.size(), row_bytes * r.height);
  std::vector<png_bytep> rows(r.height);
  for (std::size_t y = 0; y < r.height; ++y) rows[y] = data.data() + y * row_bytes;
  std::FILE* file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr) << path;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  const bool written = write_raw(png, info, file, r, rows.data());
  png_destroy_write_struct(&png, &info);
  std::fclose(file);
  ASSERT_TRUE(written) << path;
}

std::vector<uint8_t> random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> v(n);
  for (uint8_t& b : v) b = static_cast<uint8_t>(byte(rng));
  return v;
}

TEST_F(PngFiles, RoundTripOfARandomImage) {
  std::mt19937_64 rng(fresh_seed());
  GrayImage image;
  image.height = 37;
  image.width = 53;
  image.pixels = random_bytes(rng, 37 * 53);
  write_png_gray8(path("a.png"), image);
  const GrayImage back = read_png_gray8(path("a.png"));
  EXPECT_EQ(back.height, 37);
  EXPECT_EQ(back.width, 53);
  EXPECT_EQ(back.pixels, image.pixels);
}

TEST_F(PngFiles, ReadsWhatLibpngWritesInterlacedOrNot) {
  std::mt19937_64 rng(fresh_seed());
  const std::vector<uint8_t> pixels = random_bytes(rng, 19 * 23);
  for (const bool interlaced : {false, true}) {
    RawPng r;
    r.height = 19;
    r.width = 23;
    r.interlaced = interlaced;
    write_raw_png(path("a.png"), r, pixels);
    const GrayImage image = read_png_gray8(path("a.png"));
    EXPECT_EQ(image.height, 19);
    EXPECT_EQ(image.width, 23);
    EXPECT_EQ(image.pixels, pixels) << (interlaced ? "interlaced" : "not interlaced");
  }
  // Row 0 is the top row of the file: a gradient from top to bottom reads in that order.
  std::vector<uint8_t> gradient(4 * 3);
  for (std::size_t i = 0; i < gradient.size(); ++i) gradient[i] = static_cast<uint8_t>(10 * (i / 3));
  RawPng r;
  r.height = 4;
  r.width = 3;
  write_raw_png(path("g.png"), r, gradient);
  EXPECT_EQ(read_png_gray8(path("g.png")).pixels, gradient);
}

TEST_F(PngFiles, RefusesEveryOtherKindOfImage) {
  std::mt19937_64 rng(fresh_seed());
  struct Kind {
    int color_type, bit_depth;
    const char* name;
  };
  for (const Kind& k : {Kind{PNG_COLOR_TYPE_RGB, 8, "8-bit RGB"}, Kind{PNG_COLOR_TYPE_GRAY, 16, "16-bit grayscale"},
                        Kind{PNG_COLOR_TYPE_RGB_ALPHA, 8, "8-bit RGB with alpha"},
                        Kind{PNG_COLOR_TYPE_GRAY_ALPHA, 8, "8-bit grayscale with alpha"},
                        Kind{PNG_COLOR_TYPE_PALETTE, 8, "8-bit palette"}, Kind{PNG_COLOR_TYPE_GRAY, 4, "4-bit grayscale"},
                        Kind{PNG_COLOR_TYPE_GRAY, 1, "1-bit grayscale"}, Kind{PNG_COLOR_TYPE_RGB, 16, "16-bit RGB"}}) {
    SCOPED_TRACE(k.name);
    RawPng r;
    r.height = 5;
    r.width = 7;
    r.color_type = k.color_type;
    r.bit_depth = k.bit_depth;
    const std::size_t row_bytes = (7 * static_cast<std::size_t>(channels(k.color_type) * k.bit_depth) + 7) / 8;
    write_raw_png(path("k.png"), r, random_bytes(rng, 5 * row_bytes));
    const std::string m = refusal(path("k.png"), [&] { read_png_gray8(path("k.png")); });
    EXPECT_TRUE(contains(m, k.name)) << m;
    EXPECT_TRUE(contains(m, "convert it to 8-bit grayscale")) << m;
  }
}

TEST_F(PngFiles, RefusesTruncatedAndDamagedFiles) {
  std::mt19937_64 rng(fresh_seed());
  GrayImage image;
  image.height = 37;
  image.width = 53;
  image.pixels = random_bytes(rng, 37 * 53);
  write_png_gray8(path("full.png"), image);
  const std::string full = read_bytes(path("full.png"));
  // Inside the signature, in IHDR, in the pixels, IEND missing, IEND's checksum cut.
  for (const std::size_t keep : {std::size_t{4}, std::size_t{8}, std::size_t{20}, full.size() / 2, full.size() - 12,
                                 full.size() - 1}) {
    SCOPED_TRACE(keep);
    write_bytes(path("cut.png"), full.substr(0, keep));
    refusal(path("cut.png"), [&] { read_png_gray8(path("cut.png")); });
  }
  std::string damaged = full;
  const std::size_t idat = damaged.find("IDAT");
  ASSERT_NE(idat, std::string::npos);
  damaged[idat + 20] = static_cast<char>(damaged[idat + 20] ^ 0x40);
  write_bytes(path("damaged.png"), damaged);
  const std::string m = refusal(path("damaged.png"), [&] { read_png_gray8(path("damaged.png")); });
  EXPECT_TRUE(contains(m, "libpng")) << m;
}

TEST_F(PngFiles, RefusesWhatIsNotAPngImage) {
  write_bytes(path("text.png"), "P2 2 2 255 0 1 2 3\n");
  EXPECT_TRUE(contains(refusal(path("text.png"), [&] { read_png_gray8(path("text.png")); }), "not a PNG image"));
  write_bytes(path("empty.png"), "");
  refusal(path("empty.png"), [&] { read_png_gray8(path("empty.png")); });
  const double v[4] = {1, 2, 3, 4};
  write_npy(path("a.npy"), {2, 2}, v);
  refusal(path("a.npy"), [&] { read_png_gray8(path("a.npy")); });
  EXPECT_TRUE(contains(refusal(path("missing.png"), [&] { read_png_gray8(path("missing.png")); }), "no such file"));
  EXPECT_TRUE(contains(refusal(dir.string(), [&] { read_png_gray8(dir.string()); }), "not a regular file"));
}

TEST_F(PngFiles, RefusesImagesWiderThan32768) {
  RawPng r;
  r.height = 1;
  r.width = 40000;
  write_raw_png(path("wide.png"), r, std::vector<uint8_t>(40000, 7));
  const std::string m = refusal(path("wide.png"), [&] { read_png_gray8(path("wide.png")); });
  EXPECT_TRUE(contains(m, "40000 x 1")) << m;
  EXPECT_TRUE(contains(m, "at most 32768 x 32768")) << m;
  r.width = 32768;
  write_raw_png(path("edge.png"), r, std::vector<uint8_t>(32768, 7));
  EXPECT_EQ(read_png_gray8(path("edge.png")).width, 32768);
}

TEST_F(PngFiles, WriteRefusals) {
  GrayImage image{2, 3, {1, 2, 3, 4, 5}};
  EXPECT_THROW(write_png_gray8(path("a.png"), image), InvalidInput);
  image.pixels.push_back(6);
  EXPECT_THROW(write_png_gray8(path("no_such_dir/a.png"), image), Error);
  EXPECT_THROW(write_png_gray8(path("a.png"), GrayImage{}), InvalidInput);
  write_png_gray8(path("a.png"), image);
  EXPECT_EQ(read_png_gray8(path("a.png")).pixels, image.pixels);
}

}  // namespace
}  // namespace magcnn::test
