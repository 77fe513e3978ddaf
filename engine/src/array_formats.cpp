// NumPy .npy arrays through a small strict parser of their header, 8-bit grayscale PNG through libpng.
#include "magcnn/array_formats.h"

#include <png.h>

#include <algorithm>
#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>

#include "magcnn/error.h"
#include "magcnn/memory.h"

namespace magcnn {
namespace {

// The size of `path`; a FIFO would block the reader forever and a device would be read as if it were a
// file, so only regular files are read.
uint64_t regular_file_size(const std::string& path, const char* give) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) throw InvalidInput(path + ": no such file");
  if (!std::filesystem::is_regular_file(status))
    throw InvalidInput(path + " is not a regular file (a directory, FIFO or device): give " + give);
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw InvalidInput(path + ": cannot read its size (" + ec.message() + ")");
  return static_cast<uint64_t>(size);
}

// ---------------------------------------------------------------------------------------------------
// NumPy .npy

constexpr const char* kNpyAccepted =
    "magcnn reads float32 or float64 arrays of shape [H, W] or [N, H, W] in C order, as numpy.save writes them";
constexpr const char* kNpyHeaderExample = "{'descr': '<f8', 'fortran_order': False, 'shape': (64, 64), }";
// numpy.load itself refuses headers over 10000 bytes; the arrays read here need a few dozen. The limit
// keeps a damaged length field from allocating up to the file's size for text.
constexpr uint64_t kMaxNpyHeader = 65535;
constexpr int64_t kNpyChunk = int64_t{1} << 16;  // elements per read: the raw bytes never need a second whole copy

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

struct ElementType {
  int64_t size;
  bool big_endian;
  const char* name;
};

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

// The header's Python dict literal, such as {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }:
// the three keys numpy writes, each once, in any order, with Python's whitespace, and nothing else. A
// header that any other program wrote then either means what numpy would read or is refused.
class NpyHeaderParser {
 public:
  NpyHeaderParser(const std::string& text, const std::string& path) : text_(text), path_(path) {}

  NpyHeader parse() {
    NpyHeader h;
    bool seen[3] = {false, false, false};
    skip_space();
    expect('{', "'{' opening the dict");
    for (;;) {
      skip_space();
      if (accept('}')) break;
      entry(h, seen);
      skip_space();
      if (accept(',')) continue;
      expect('}', "',' or '}' after a value");
      break;
    }
    skip_space();
    if (pos_ != text_.size()) fail("text after the dict");
    static const char* const keys[3] = {"descr", "fortran_order", "shape"};
    for (int k = 0; k < 3; ++k)
      if (!seen[k])
        throw InvalidInput(path_ + ": the .npy header has no '" + keys[k] + "'; a .npy header is a dict such as " +
                           kNpyHeaderExample);
    return h;
  }

 private:
  void entry(NpyHeader& h, bool seen[3]) {
    const std::size_t at = pos_;
    const std::string key = quoted();
    skip_space();
    expect(':', "':' after the key");
    skip_space();
    int k = 0;
    if (key == "descr") {
      if (peek() == '[') fail("'descr' is a list of fields, a structured array; magcnn reads arrays of one float type");
      h.descr = quoted();
    } else if (key == "fortran_order") {
      k = 1;
      h.fortran_order = boolean();
    } else if (key == "shape") {
      k = 2;
      h.shape = tuple();
    } else {
      pos_ = at;
      fail("unknown key '" + key + "' (numpy writes only 'descr', 'fortran_order' and 'shape')");
    }
    if (seen[k]) {
      pos_ = at;
      fail("the key '" + key + "' appears twice");
    }
    seen[k] = true;
  }

  // Without escapes and in printable ASCII only, so that what it holds can be quoted in a message.
  std::string quoted() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') expected("a quoted string");
    const std::size_t start = ++pos_;
    for (; peek() != quote; ++pos_) {
      const char c = peek();
      if (c < 0x20 || c > 0x7e || c == '\\') expected("a string of printable characters without escapes");
    }
    return text_.substr(start, pos_++ - start);
  }

  bool boolean() {
    for (const bool value : {true, false}) {
      const char* word = value ? "True" : "False";
      if (text_.compare(pos_, std::strlen(word), word) == 0) {
        pos_ += std::strlen(word);
        return value;
      }
    }
    expected("True or False");
  }

  // () or (n,) or (n, m, ...), a trailing comma allowed; (n) is a number in Python, not a tuple.
  std::vector<int64_t> tuple() {
    expect('(', "'(' opening the shape");
    std::vector<int64_t> dims;
    bool comma = false;
    for (;;) {
      skip_space();
      if (accept(')')) break;
      dims.push_back(integer());
      skip_space();
      comma = accept(',');
      if (comma) continue;
      expect(')', "',' or ')' in the shape");
      break;
    }
    if (dims.size() == 1 && !comma) fail("the shape (n) is a number, not a tuple (numpy writes (n,))");
    return dims;
  }

  int64_t integer() {
    if (!is_digit(peek())) expected("a non-negative integer in the shape");
    int64_t v = 0;
    for (; is_digit(peek()); ++pos_) {
      const int digit = peek() - '0';
      if (v > (std::numeric_limits<int64_t>::max() - digit) / 10) fail("a dimension too large for 64 bits");
      v = v * 10 + digit;
    }
    return v;
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  // '\0' past the end: no expected character is '\0', so every caller stops there.
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool accept(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c, const char* what) {
    if (!accept(c)) expected(what);
  }
  void skip_space() {
    for (char c = peek(); c == ' ' || c == '\t' || c == '\r' || c == '\n'; c = peek()) ++pos_;
  }
  [[noreturn]] void expected(const std::string& what) const {
    fail(pos_ < text_.size() ? "expected " + what : "the header ends where " + what + " was expected");
  }
  [[noreturn]] void fail(const std::string& why) const {
    throw InvalidInput(path_ + ": the .npy header does not parse at byte " + std::to_string(pos_) + " of " +
                       std::to_string(text_.size()) + ": " + why + "; a .npy header is a dict such as " +
                       kNpyHeaderExample);
  }

  const std::string& text_;
  const std::string& path_;
  std::size_t pos_ = 0;
};

// What numpy's type code stands for, which helps the user more than the code itself.
std::string describe_descr(const std::string& descr) {
  const bool has_order = descr.size() >= 2 && std::string("<>|=").find(descr[0]) != std::string::npos;
  switch (descr.empty() ? '?' : descr[has_order ? 1 : 0]) {
    case 'i': return "signed integers";
    case 'u': return "unsigned integers";
    case 'f': return "floating-point numbers of another size or byte order";
    case 'c': return "complex numbers";
    case 'b':
    case '?': return "booleans";
    case 'O': return "Python objects";
    case 'U':
    case 'S': return "strings";
    case 'M':
    case 'm': return "dates or times";
    default: return "elements of a type magcnn does not know";
  }
}

ElementType element_type(const std::string& descr, const std::string& path) {
  if (descr == "<f8") return {8, false, "float64"};
  if (descr == ">f8") return {8, true, "float64"};
  if (descr == "<f4") return {4, false, "float32"};
  if (descr == ">f4") return {4, true, "float32"};
  throw InvalidInput(path + ": the array holds " + describe_descr(descr) + " ('" + descr +
                     "'); magcnn reads float32 or float64 ('<f4', '>f4', '<f8', '>f8'): save a.astype(numpy.float64)");
}

uint64_t little_endian(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

InvalidInput not_npy(const std::string& path, const unsigned char* start, std::streamsize got) {
  if (got >= 4 && std::memcmp(start, "PK\x03\x04", 4) == 0)
    return InvalidInput(path + " is a .npz archive (zip), not a .npy file: save the one array to read with numpy.save");
  return InvalidInput(path + " is not a NumPy .npy file (it does not begin with \\x93NUMPY): " + kNpyAccepted);
}

// The preamble (magic string, version, header length) and the header, each checked against the file's
// size before anything is allocated for it. Returns the header and the offset of the data.
std::pair<NpyHeader, uint64_t> read_npy_header(std::istream& in, const std::string& path, uint64_t file_size) {
  static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  unsigned char preamble[12] = {};
  in.read(reinterpret_cast<char*>(preamble), 8);
  if (in.gcount() < 6 || std::memcmp(preamble, magic, 6) != 0) throw not_npy(path, preamble, in.gcount());
  if (in.gcount() < 8)
    throw InvalidInput(path + ": the file ends inside its .npy preamble, after " + std::to_string(file_size) +
                       " bytes: a truncated file?");
  const int major = preamble[6], minor = preamble[7];
  if (major < 1 || major > 3 || minor != 0)
    throw InvalidInput(path + ": a .npy file of format version " + std::to_string(major) + "." + std::to_string(minor) +
                       "; magcnn reads versions 1.0, 2.0 and 3.0 (numpy.save writes 1.0 unless the header needs more)");
  const int length_bytes = major == 1 ? 2 : 4;
  in.read(reinterpret_cast<char*>(preamble + 8), length_bytes);
  if (in.gcount() < length_bytes)
    throw InvalidInput(path + ": the file ends inside its .npy preamble, after " + std::to_string(file_size) +
                       " bytes: a truncated file?");
  const uint64_t header_length = little_endian(preamble + 8, length_bytes);
  const uint64_t header_start = static_cast<uint64_t>(8 + length_bytes);
  if (header_length > file_size - header_start)
    throw InvalidInput(path + ": the .npy header is declared as " + std::to_string(header_length) +
                       " bytes long, but only " + std::to_string(file_size - header_start) +
                       " bytes follow the preamble: a truncated or damaged file?");
  if (header_length > kMaxNpyHeader)
    throw InvalidInput(path + ": the .npy header is declared as " + std::to_string(header_length) +
                       " bytes long; the header of an array of numbers takes well under " +
                       std::to_string(kMaxNpyHeader) + ": a damaged file?");
  std::string text(static_cast<std::size_t>(header_length), '\0');
  in.read(&text[0], static_cast<std::streamsize>(header_length));
  if (static_cast<uint64_t>(in.gcount()) != header_length)
    throw InvalidInput(path + ": the file ended while its .npy header was being read (did it shrink meanwhile?)");
  return {NpyHeaderParser(text, path).parse(), header_start + header_length};
}

// Everything about the header but its syntax: element type, order, rank, an empty shape.
ElementType check_npy_header(const NpyHeader& h, const std::string& path) {
  const ElementType type = element_type(h.descr, path);
  MAGCNN_REQUIRE(!h.fortran_order, path << ": the array is stored in Fortran order (fortran_order True); "
                                        << kNpyAccepted << ": save numpy.ascontiguousarray(a)");
  MAGCNN_REQUIRE(h.shape.size() == 2 || h.shape.size() == 3,
                 path << ": the array has shape " << shape_text(h.shape) << ", rank " << h.shape.size()
                      << "; magcnn reads a map [H, W] or a stack of maps [N, H, W]");
  MAGCNN_REQUIRE(std::find(h.shape.begin(), h.shape.end(), 0) == h.shape.end(),
                 path << ": the array has shape " << shape_text(h.shape)
                      << ", an empty map; every dimension must be at least 1");
  return type;
}

std::string byte_count(int64_t count, int64_t size) {
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(count), static_cast<uint64_t>(size), &bytes))
    return human_bytes(static_cast<double>(count) * static_cast<double>(size));
  return std::to_string(bytes) + " bytes";
}

// The number of elements, after checking that the data after the header is exactly as long as the
// shape says: a damaged header then cannot make the reader allocate more than the file holds.
int64_t check_npy_data_size(const NpyHeader& h, const ElementType& type, uint64_t data_bytes, const std::string& path) {
  int64_t count = 1;
  for (const int64_t d : h.shape)
    if (__builtin_mul_overflow(count, d, &count))
      throw InvalidInput(path + ": the header declares shape " + shape_text(h.shape) +
                         ", more elements than 64 bits can count, but the file holds " + std::to_string(data_bytes) +
                         " bytes of data: a damaged header?");
  const std::string declared = path + ": the header declares shape " + shape_text(h.shape) + " of " + type.name +
                               ", " + byte_count(count, type.size) + " of data, but " + std::to_string(data_bytes) +
                               " bytes follow it";
  if (static_cast<uint64_t>(count) > data_bytes / static_cast<uint64_t>(type.size))
    throw InvalidInput(declared + ": a truncated file?");
  if (static_cast<uint64_t>(count) * static_cast<uint64_t>(type.size) != data_bytes)
    throw InvalidInput(declared + "; a .npy file holds one array and nothing after it");
  return count;
}

// One element in the file's byte order, assembled byte by byte so that the host's order does not matter.
double decode(const unsigned char* p, const ElementType& type) {
  uint64_t bits = 0;
  for (int64_t i = 0; i < type.size; ++i) bits = (bits << 8) | p[type.big_endian ? i : type.size - 1 - i];
  if (type.size == 8) {
    double d = 0;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  const auto narrow = static_cast<uint32_t>(bits);
  float f = 0;
  std::memcpy(&f, &narrow, sizeof f);
  return f;
}

std::vector<double> read_npy_values(std::istream& in, int64_t count, const ElementType& type, const std::string& path) {
  std::vector<double> values(static_cast<std::size_t>(count));
  std::vector<unsigned char> raw(static_cast<std::size_t>(std::min(count, kNpyChunk) * type.size));
  for (int64_t done = 0; done < count;) {
    const int64_t n = std::min(kNpyChunk, count - done);
    in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(n * type.size));
    if (in.gcount() != static_cast<std::streamsize>(n * type.size))
      throw InvalidInput(path + ": the file ended while its data was being read (did it shrink meanwhile?)");
    for (int64_t i = 0; i < n; ++i) values[static_cast<std::size_t>(done + i)] = decode(raw.data() + i * type.size, type);
    done += n;
  }
  if (in.peek() != std::char_traits<char>::eof())
    throw InvalidInput(path + ": more data follows the array than its header declares (did the file grow meanwhile?)");
  return values;
}

void append_little_endian(std::string& out, uint64_t bits, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

std::string npy_header(const std::vector<int64_t>& shape, bool as_float32) {
  std::string h = std::string("{'descr': '") + (as_float32 ? "<f4" : "<f8") +
                  "', 'fortran_order': False, 'shape': " + shape_text(shape) + ", }";
  // As numpy does: spaces, then a newline, to make the preamble and header a multiple of 64 bytes.
  h.append((64 - (10 + h.size() + 1) % 64) % 64, ' ');
  h.push_back('\n');
  return h;
}

}  // namespace

RealArray read_npy(const std::string& path) {
  const uint64_t file_size = regular_file_size(path, "a NumPy .npy file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InvalidInput("cannot open " + path + ": " + std::strerror(errno));
  const auto [header, data_offset] = read_npy_header(in, path, file_size);
  const ElementType type = check_npy_header(header, path);
  const int64_t count = check_npy_data_size(header, type, file_size - data_offset, path);
  require_memory(static_cast<double>(count) * sizeof(double), host_memory_available(),
                 path + ": the array of shape " + shape_text(header.shape) + " as float64");
  RealArray a;
  a.values = read_npy_values(in, count, type, path);
  a.shape = header.shape;
  a.stored_type = type.name;
  return a;
}

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const double* values, bool as_float32) {
  const int64_t count = checked_product(shape, "write_npy: the shape " + shape_text(shape) + " of " + path);
  MAGCNN_REQUIRE(values != nullptr || count == 0, "write_npy: no values given for " << path);
  const std::string header = npy_header(shape, as_float32);
  if (header.size() > 65535) throw Error("write_npy: the shape of " + path + " is too long for a version 1.0 header");
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error("cannot create " + path + ": " + std::strerror(errno));
  std::string bytes = "\x93NUMPY\x01";
  bytes.push_back('\0');
  append_little_endian(bytes, header.size(), 2);
  bytes += header;
  for (int64_t done = 0; done < count || !bytes.empty();) {
    const int64_t n = std::min(kNpyChunk, count - done);
    for (int64_t i = 0; i < n; ++i) {
      const double v = values[done + i];
      if (as_float32) {
        const auto f = static_cast<float>(v);
        uint32_t bits = 0;
        std::memcpy(&bits, &f, sizeof bits);
        append_little_endian(bytes, bits, 4);
      } else {
        uint64_t bits = 0;
        std::memcpy(&bits, &v, sizeof bits);
        append_little_endian(bytes, bits, 8);
      }
    }
    done += n;
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    bytes.clear();
  }
  out.close();
  if (!out) throw Error("cannot write " + path + " (is the disk full?)");
}

// ---------------------------------------------------------------------------------------------------
// PNG through libpng. libpng reports an error by calling a callback that must not return. A C++
// exception must not unwind libpng's C frames, so the callback records the message and longjmps back to
// the setjmp of the small function that called libpng; that function holds nothing with a destructor
// (longjmp would skip it) and returns false, and C++ code above it throws.

namespace {

constexpr int64_t kMaxPngSide = int64_t{1} << 15;

struct PngErrors {
  char message[256] = "";
};

[[noreturn]] void record_png_error(png_structp png, png_const_charp message) {
  auto* errors = static_cast<PngErrors*>(png_get_error_ptr(png));
  std::snprintf(errors->message, sizeof errors->message, "%s", message ? message : "unknown error");
  png_longjmp(png, 1);
}

// Warnings (an odd color profile, a damaged ancillary chunk that is skipped) do not change the pixels.
void ignore_png_warning(png_structp, png_const_charp) {}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

struct PngRead {
  png_structp png = nullptr;
  png_infop info = nullptr;
  PngErrors errors;
  PngRead() {
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &errors, record_png_error, ignore_png_warning);
    if (png) info = png_create_info_struct(png);
    if (!png || !info) {
      png_destroy_read_struct(&png, nullptr, nullptr);
      throw Error("libpng could not create a PNG reader (out of memory?)");
    }
  }
  ~PngRead() { png_destroy_read_struct(&png, &info, nullptr); }
  PngRead(const PngRead&) = delete;
  PngRead& operator=(const PngRead&) = delete;
};

struct PngWrite {
  png_structp png = nullptr;
  png_infop info = nullptr;
  PngErrors errors;
  PngWrite() {
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &errors, record_png_error, ignore_png_warning);
    if (png) info = png_create_info_struct(png);
    if (!png || !info) {
      png_destroy_write_struct(&png, nullptr);
      throw Error("libpng could not create a PNG writer (out of memory?)");
    }
  }
  ~PngWrite() { png_destroy_write_struct(&png, &info); }
  PngWrite(const PngWrite&) = delete;
  PngWrite& operator=(const PngWrite&) = delete;
};

struct PngHeader {
  png_uint_32 width = 0, height = 0;
  int bit_depth = 0, color_type = 0;
};

bool read_png_info(png_structp png, png_infop info, std::FILE* file, PngHeader* header) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_init_io(png, file);
  png_set_sig_bytes(png, 8);
  png_read_info(png, info);
  png_get_IHDR(png, info, &header->width, &header->height, &header->bit_depth, &header->color_type, nullptr, nullptr,
               nullptr);
  return true;
}

// Called only once the image has been accepted: libpng allocates its row buffers here.
bool read_png_rows(png_structp png, png_infop info, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  png_read_image(png, rows);
  png_read_end(png, nullptr);  // reads up to IEND, so that a file cut after the pixels is caught too
  return true;
}

bool write_png_rows(png_structp png, png_infop info, std::FILE* file, png_uint_32 width, png_uint_32 height,
                    png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_init_io(png, file);
  png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  return true;
}

std::string png_kind(const PngHeader& h) {
  std::string kind;
  switch (h.color_type) {
    case PNG_COLOR_TYPE_GRAY: kind = "grayscale"; break;
    case PNG_COLOR_TYPE_GRAY_ALPHA: kind = "grayscale with alpha"; break;
    case PNG_COLOR_TYPE_PALETTE: kind = "palette (indexed color)"; break;
    case PNG_COLOR_TYPE_RGB: kind = "RGB"; break;
    case PNG_COLOR_TYPE_RGB_ALPHA: kind = "RGB with alpha"; break;
    default: kind = "color type " + std::to_string(h.color_type);
  }
  return std::to_string(h.bit_depth) + "-bit " + kind;
}

void check_png_header(const PngHeader& h, const std::string& path) {
  MAGCNN_REQUIRE(h.color_type == PNG_COLOR_TYPE_GRAY && h.bit_depth == 8,
                 path << " is a " << png_kind(h) << " PNG image; magcnn reads 8-bit grayscale PNG images only: "
                      << "convert it to 8-bit grayscale");
  MAGCNN_REQUIRE(h.width <= kMaxPngSide && h.height <= kMaxPngSide,
                 path << ": the image is " << h.width << " x " << h.height << " pixels; magcnn reads images of at most "
                      << kMaxPngSide << " x " << kMaxPngSide);
  require_memory(static_cast<double>(h.width) * h.height + static_cast<double>(h.height) * sizeof(png_bytep),
                 host_memory_available(),
                 path + ": an image of " + std::to_string(h.width) + " x " + std::to_string(h.height) + " pixels");
}

InvalidInput damaged_png(const std::string& path, const PngErrors& errors) {
  return InvalidInput(path + " cannot be read as a PNG image, a damaged or truncated file? (libpng: " +
                      errors.message + ")");
}

}  // namespace

GrayImage read_png_gray8(const std::string& path) {
  regular_file_size(path, "an 8-bit grayscale PNG image");
  const FilePtr file(std::fopen(path.c_str(), "rb"));
  if (!file) throw InvalidInput("cannot open " + path + ": " + std::strerror(errno));
  png_byte signature[8] = {};
  if (std::fread(signature, 1, sizeof signature, file.get()) != sizeof signature ||
      png_sig_cmp(signature, 0, sizeof signature) != 0)
    throw InvalidInput(path + " is not a PNG image (it does not begin with PNG's signature): give an 8-bit "
                              "grayscale PNG image");
  PngRead r;
  // libpng's own limit (a million pixels a side) would refuse in its words; these leave the limit to ours.
  png_set_user_limits(r.png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
  PngHeader header;
  if (!read_png_info(r.png, r.info, file.get(), &header)) throw damaged_png(path, r.errors);
  check_png_header(header, path);
  GrayImage image;
  image.height = header.height;
  image.width = header.width;
  image.pixels.resize(static_cast<std::size_t>(image.height * image.width));
  std::vector<png_bytep> rows(static_cast<std::size_t>(image.height));
  for (int64_t y = 0; y < image.height; ++y) rows[static_cast<std::size_t>(y)] = image.pixels.data() + y * image.width;
  if (!read_png_rows(r.png, r.info, rows.data())) throw damaged_png(path, r.errors);
  return image;
}

void write_png_gray8(const std::string& path, const GrayImage& image) {
  MAGCNN_REQUIRE(image.height >= 1 && image.width >= 1 && image.height <= PNG_UINT_31_MAX && image.width <= PNG_UINT_31_MAX,
                 "write_png_gray8: an image of " << image.height << " x " << image.width << " pixels for " << path
                                                 << "; a PNG image has 1 to 2^31 - 1 pixels a side");
  MAGCNN_REQUIRE(static_cast<int64_t>(image.pixels.size()) == checked_product({image.height, image.width}, path),
                 "write_png_gray8: " << image.pixels.size() << " pixels given for an image of " << image.height
                                     << " x " << image.width << " (" << path << ")");
  std::vector<png_bytep> rows(static_cast<std::size_t>(image.height));
  // libpng takes non-const rows but only reads them when writing without transformations.
  for (int64_t y = 0; y < image.height; ++y)
    rows[static_cast<std::size_t>(y)] = const_cast<png_bytep>(image.pixels.data() + y * image.width);
  FilePtr file(std::fopen(path.c_str(), "wb"));
  if (!file) throw Error("cannot create " + path + ": " + std::strerror(errno));
  PngWrite w;
  if (!write_png_rows(w.png, w.info, file.get(), static_cast<png_uint_32>(image.width),
                      static_cast<png_uint_32>(image.height), rows.data()))
    throw Error("cannot write the PNG image " + path + " (libpng: " + w.errors.message + ")");
  if (std::fclose(file.release()) != 0) throw Error("cannot write " + path + ": " + std::strerror(errno));
}

}  // namespace magcnn
