// HDF5 wrapper: error capture, files, datasets and attributes, each read checked before it is trusted.
#include "h5file.h"

#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <mutex>
#include <sstream>

#include "magcnn/memory.h"

namespace magcnn::h5 {
namespace {

// HDF5 prints its error stack to stderr by default; we collect it into the exception instead. Its exit
// handler is turned off: after a close that failed (a full disk), HDF5 1.10's handler retries the close at
// exit and crashes. Every file we open is closed explicitly, so the handler has nothing else to do.
void silence_hdf5_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    H5dont_atexit();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    // HDF5 keeps freed blocks on its own free lists for good by default: after one large read the
    // process would hold that memory to its end. Small lists; the rest goes back to malloc.
    H5set_free_list_limits(1 << 20, 1 << 20, 1 << 20, 1 << 20, 1 << 20, 1 << 20);
  });
}

herr_t collect(unsigned n, const H5E_error2_t* e, void* data) {
  auto* text = static_cast<std::string*>(data);
  if (n < 3 && e->desc != nullptr && e->desc[0] != '\0') *text += std::string(text->empty() ? "" : "; ") + e->desc;
  return 0;
}

template <class T>
hid_t memory_type();
template <>
hid_t memory_type<float>() { return H5T_NATIVE_FLOAT; }
template <>
hid_t memory_type<double>() { return H5T_NATIVE_DOUBLE; }

hid_t file_type(Type t) { return t == Type::F32 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE; }
hid_t memory_type_of(Type t) { return t == Type::F32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE; }

std::string shape_text(const std::vector<int64_t>& dims) {
  std::ostringstream o;
  o << "[";
  for (std::size_t i = 0; i < dims.size(); ++i) o << (i ? ", " : "") << dims[i];
  o << "]";
  return o.str();
}

std::string type_name(hid_t type) {
  const H5T_class_t cls = H5Tget_class(type);
  const std::size_t bits = H5Tget_precision(type);
  if (cls == H5T_FLOAT) return "float" + std::to_string(bits);
  if (cls == H5T_INTEGER) return std::string(H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
  switch (cls) {
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    case H5T_ENUM: return "enum";
    case H5T_ARRAY: return "array";
    case H5T_VLEN: return "variable-length sequence";
    case H5T_REFERENCE: return "reference";
    case H5T_OPAQUE: return "opaque";
    case H5T_BITFIELD: return "bitfield";
    default: return "unknown type";
  }
}

// A numeric type HDF5 can convert without overrunning its own buffers: sizes of 1, 2, 4 or 8 bytes and
// every bit field inside them. A damaged file can declare an integer of 8 bytes with 200 bits of
// precision, and HDF5 1.10's conversion then writes past a stack buffer (found by fuzzing model files).
bool plausible_numeric_type(hid_t type) {
  const H5T_class_t cls = H5Tget_class(type);
  const std::size_t size = H5Tget_size(type), precision = H5Tget_precision(type);
  const int offset = H5Tget_offset(type);
  if (!(size == 1 || size == 2 || size == 4 || size == 8) || (cls == H5T_FLOAT && size == 1)) return false;
  if (precision < 1 || offset < 0 || static_cast<std::size_t>(offset) + precision > 8 * size) return false;
  if (cls != H5T_FLOAT) return true;
  std::size_t spos = 0, epos = 0, esize = 0, mpos = 0, msize = 0;
  if (H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize) < 0) return false;
  const std::size_t bits = 8 * size;
  return spos < bits && esize >= 1 && msize >= 1 && epos + esize <= bits && mpos + msize <= bits && esize <= 16 && msize <= 112;
}

// `count` numbers of attribute `attr` (described as `what`) as double, after checking that its type is a
// number type HDF5 converts safely.
void read_numeric_attr(hid_t attr, const std::string& what, std::size_t count, double* out) {
  Id type(MAGCNN_H5(H5Aget_type(attr)), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  const char* numbers = count == 1 ? "a number" : "numbers";
  MAGCNN_REQUIRE(cls == H5T_FLOAT || cls == H5T_INTEGER, what << " is a " << type_name(type.get()) << "; it must be " << numbers);
  MAGCNN_REQUIRE(plausible_numeric_type(type.get()), what << " declares a number type no writer makes: the file is damaged");
  if (H5Aread(attr, H5T_NATIVE_DOUBLE, out) < 0) throw InvalidInput(what + " cannot be read as " + numbers + " (HDF5: " + error_stack() + ")");
}

// HDF5 shares one state between all opens of a file it still holds (it knows files by inode). A damaged
// file can fail to close and stay held; had it been rewritten since, a new open would inherit the stale
// state of the damaged one. Refuse rather than read through it.
void refuse_if_still_held(const std::string& path) {
  const ssize_t open = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE);
  if (open <= 0) return;
  std::vector<hid_t> ids(static_cast<std::size_t>(open));
  const ssize_t got = H5Fget_obj_ids(H5F_OBJ_ALL, H5F_OBJ_FILE, ids.size(), ids.data());
  std::error_code ec;
  for (ssize_t i = 0; i < got; ++i) {
    char name[4096] = {0};
    if (H5Fget_name(ids[static_cast<std::size_t>(i)], name, sizeof name) <= 0) continue;
    if (std::filesystem::equivalent(name, path, ec))
      throw InvalidInput(path + " is still held by an earlier read in this process that could not release it (a damaged "
                                "file); read it again in a new process");
  }
  H5Eclear2(H5E_DEFAULT);
}

}  // namespace

std::string error_stack() {
  std::string stack;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect, &stack);
  H5Eclear2(H5E_DEFAULT);
  return stack.empty() ? std::string("no detail from HDF5") : stack;
}

int64_t checked(int64_t status, const char* call, const char* file, int line) {
  if (status >= 0) return status;
  throw_call_failure(call, file, line, "HDF5: " + error_stack());
}

File File::create(const std::string& path, const std::string& shown_as, bool exclusive) {
  silence_hdf5_once();
  const std::string name = shown_as.empty() ? path : shown_as;
  const hid_t id = H5Fcreate(path.c_str(), exclusive ? H5F_ACC_EXCL : H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (id < 0) {
    H5Eclear2(H5E_DEFAULT);
    throw InvalidInput("cannot create " + name + ": may we write in its directory" +
                       (exclusive ? std::string(", and did something appear at ") + path + "?" : std::string("?")));
  }
  return File(name, Id(id, H5Fclose));
}

File File::open(const std::string& path) {
  silence_hdf5_once();
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) throw InvalidInput(path + ": no such file");
  // A FIFO would block the reader forever, a device would be read as if it were a file.
  if (!std::filesystem::is_regular_file(status))
    throw InvalidInput(path + " is not a regular file (a directory, FIFO or device): give an HDF5 file");
  probe_in_child(path);  // before this process lets HDF5 parse anything of the file
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw InvalidInput(path + " is not an HDF5 file (or cannot be read)");
  }
  refuse_if_still_held(path);
  Id fapl(MAGCNN_H5(H5Pcreate(H5P_FILE_ACCESS)), H5Pclose);
  MAGCNN_H5(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG));  // closing closes everything in the file
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get());
  if (id < 0) throw InvalidInput("cannot open " + path + ", a damaged or truncated HDF5 file? (HDF5: " + error_stack() + ")");
  return File(path, Id(id, H5Fclose));
}

File::File(std::string path, Id file) : path_(std::move(path)), file_(std::move(file)) {
  // Link lookups refuse to traverse external links: their targets are other files, never checked.
  links_ = Id(MAGCNN_H5(H5Pcreate(H5P_LINK_ACCESS)), H5Pclose);
  MAGCNN_H5(H5Pset_elink_cb(links_.get(), [](const char*, const char*, const char*, const char*, unsigned*, hid_t, void*) -> herr_t { return -1; },
                            nullptr));
}

bool File::has(const std::string& name) const {
  const htri_t exists = H5Lexists(id(), name.c_str(), links_.get());
  if (exists <= 0) {
    H5Eclear2(H5E_DEFAULT);
    return false;
  }
  return true;
}

Id File::open_object(const std::string& object) const {
  if (object != "/") {
    H5L_info_t info{};
    if (H5Lget_info(id(), object.c_str(), &info, links_.get()) < 0)
      throw InvalidInput(path_ + ": cannot look up '" + object + "' (HDF5: " + error_stack() + ")");
    if (info.type == H5L_TYPE_EXTERNAL)
      throw InvalidInput(path_ + ": '" + object + "' is a link to another file; magcnn reads only what is stored in the file itself");
  }
  const hid_t obj = H5Oopen(id(), object.c_str(), links_.get());
  if (obj < 0) {
    const std::string stack = error_stack();
    // Say why: follow soft links by hand (a few steps) to find an external one or a missing target.
    std::string name = object;
    for (int step = 0; step < 16; ++step) {
      H5L_info_t info{};
      if (H5Lget_info(id(), name.c_str(), &info, links_.get()) < 0) break;
      if (info.type == H5L_TYPE_EXTERNAL)
        throw InvalidInput(path_ + ": '" + object + "' leads through a link to another file; magcnn reads only what is stored in the file itself");
      if (info.type != H5L_TYPE_SOFT) break;
      std::string target(info.u.val_size + 1, '\0');
      if (H5Lget_val(id(), name.c_str(), target.data(), target.size(), links_.get()) < 0) break;
      name = target.c_str();
      if (H5Lexists(id(), name.c_str(), links_.get()) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        throw InvalidInput(path_ + ": '" + object + "' is a link to an object that does not exist ('" + name + "')");
      }
    }
    H5Eclear2(H5E_DEFAULT);
    throw InvalidInput(path_ + ": cannot open '" + object + "', a damaged file? (HDF5: " + stack + ")");
  }
  return Id(obj, H5Oclose);
}

Id File::open_dataset(const std::string& name) const {
  MAGCNN_REQUIRE(has(name), path_ << ": no dataset '" << name << "'");
  Id obj = open_object(name);
  const H5I_type_t kind = H5Iget_type(obj.get());
  if (kind != H5I_DATASET)
    throw InvalidInput(path_ + ": '" + name + "' is a " + (kind == H5I_GROUP ? "group" : "named datatype") +
                       ", not a dataset");
  return obj;
}

namespace {

// The dimensions of an open dataset; a null dataspace (no data at all) is refused.
std::vector<int64_t> dataset_extent(const std::string& path, const std::string& name, hid_t ds) {
  Id space(MAGCNN_H5(H5Dget_space(ds)), H5Sclose);
  MAGCNN_REQUIRE(H5Sget_simple_extent_type(space.get()) != H5S_NULL, path << ": dataset '" << name << "' holds no data (null dataspace)");
  const int rank = static_cast<int>(MAGCNN_H5(H5Sget_simple_extent_ndims(space.get())));
  std::vector<hsize_t> d(static_cast<std::size_t>(rank));
  MAGCNN_H5(H5Sget_simple_extent_dims(space.get(), d.data(), nullptr));
  std::vector<int64_t> out;
  for (const hsize_t v : d) {
    MAGCNN_REQUIRE(v <= static_cast<hsize_t>(INT64_MAX), path << ": dataset '" << name << "' declares a dimension of " << v);
    out.push_back(static_cast<int64_t>(v));
  }
  return out;
}

}  // namespace

std::vector<int64_t> File::dims(const std::string& name) const {
  const Id ds = open_dataset(name);
  return dataset_extent(path_, name, ds.get());
}

namespace {

// Numeric type, data in this file, filters this HDF5 can decode: what reading a dataset relies on.
void check_readable(const std::string& path, const std::string& name, hid_t ds) {
  Id type(MAGCNN_H5(H5Dget_type(ds)), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  MAGCNN_REQUIRE(cls == H5T_FLOAT || cls == H5T_INTEGER,
                 path << ": dataset '" << name << "' holds " << type_name(type.get()) << " values; it must hold numbers (integers or floats)");
  MAGCNN_REQUIRE(plausible_numeric_type(type.get()),
                 path << ": dataset '" << name << "' declares a number type of " << H5Tget_size(type.get()) << " bytes and "
                      << H5Tget_precision(type.get()) << " bits that no writer makes: the file is damaged");
  Id dcpl(MAGCNN_H5(H5Dget_create_plist(ds)), H5Pclose);
  MAGCNN_REQUIRE(H5Pget_layout(dcpl.get()) != H5D_VIRTUAL,
                 path << ": dataset '" << name << "' is a virtual dataset mapping other files; magcnn reads only data stored in the file itself");
  MAGCNN_REQUIRE(H5Pget_external_count(dcpl.get()) == 0,
                 path << ": dataset '" << name << "' keeps its data in external files; magcnn reads only data stored in the file itself");
  const int filters = H5Pget_nfilters(dcpl.get());
  for (int i = 0; i < filters; ++i) {
    unsigned flags = 0, config = 0;
    std::size_t cd_count = 16;
    unsigned cd_values[16];
    char filter_name[128] = {0};
    const H5Z_filter_t filter = H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags, &cd_count, cd_values,
                                               sizeof filter_name, filter_name, &config);
    if (filter < 0 || H5Zfilter_avail(filter) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      throw InvalidInput(path + ": dataset '" + name + "' is stored with HDF5 filter " + std::to_string(filter) +
                         (filter_name[0] ? " (" + std::string(filter_name) + ")" : std::string()) +
                         ", which this HDF5 library cannot decode: rewrite it uncompressed or with gzip "
                         "(h5repack -f NONE or -f GZIP=4) or make the filter's plugin available (HDF5_PLUGIN_PATH)");
    }
  }
}

std::string read_failure(const std::string& path, const std::string& name) {
  return path + ": dataset '" + name + "' could not be read, the file may be truncated or damaged (HDF5: " +
         error_stack() + ")";
}

}  // namespace

namespace {

double declared_bytes_of(hid_t ds) {
  Id type(MAGCNN_H5(H5Dget_type(ds)), H5Tclose);
  Id space(MAGCNN_H5(H5Dget_space(ds)), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  double bytes = static_cast<double>(H5Tget_size(type.get()));
  for (const hsize_t d : dims) bytes *= static_cast<double>(d);
  return bytes;
}

}  // namespace

StoredFraction mostly_unwritten(hid_t ds) {
  StoredFraction f;
  f.declared_bytes = declared_bytes_of(ds);
  Id dcpl(H5Dget_create_plist(ds), H5Pclose);
  f.stored_bytes = static_cast<double>(H5Dget_storage_size(ds));
  if (H5Pget_layout(dcpl.get()) == H5D_COMPACT) {
    // Kept in the object header and copied out whole: anything short of the declared size would be read
    // past its end.
    f.unwritten = f.stored_bytes < f.declared_bytes;
    return f;
  }
  // Compressed data may be much smaller than what it holds, but not without bound: deflate, the filter
  // HDF5 files use, reaches at most about 1032:1.
  const double ratio = H5Pget_nfilters(dcpl.get()) > 0 ? kMaxCompressionRatio : 1.0;
  f.unwritten = f.stored_bytes * ratio < 0.5 * f.declared_bytes;
  return f;
}

namespace {

void check_stored(const std::string& path, const std::string& name, hid_t ds, int64_t values) {
  const StoredFraction f = mostly_unwritten(ds);
  MAGCNN_REQUIRE(!f.unwritten, path << ": dataset '" << name << "' declares " << values << " values (" << human_bytes(f.declared_bytes)
                                    << ") but stores " << human_bytes(f.stored_bytes)
                                    << ": the file is damaged or was not completely written");
}

}  // namespace

void File::check_dataset(const std::string& name) const {
  const Id ds = open_dataset(name);
  const std::vector<int64_t> d = dataset_extent(path_, name, ds.get());
  check_readable(path_, name, ds.get());
  check_stored(path_, name, ds.get(), checked_product(d, path_ + ": dataset '" + name + "' of shape " + shape_text(d)));
}

template <class T>
std::vector<T> File::read(const std::string& name) const {
  const Id ds = open_dataset(name);
  const std::vector<int64_t> d = dataset_extent(path_, name, ds.get());
  check_readable(path_, name, ds.get());
  const int64_t n = checked_product(d, path_ + ": dataset '" + name + "' of shape " + shape_text(d));
  check_stored(path_, name, ds.get(), n);  // before allocating for the declared shape
  const std::string what = path_ + ": dataset '" + name + "' of shape " + shape_text(d);
  require_memory(static_cast<double>(n) * sizeof(T), host_memory_available(), what);
  std::vector<T> out;
  try {
    out.resize(static_cast<std::size_t>(n));
  } catch (const std::bad_alloc&) {
    throw InvalidInput(what + " needs " + human_bytes(static_cast<double>(n) * sizeof(T)) + " of memory, which could not be had");
  }
  if (n > 0 && H5Dread(ds.get(), memory_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    throw InvalidInput(read_failure(path_, name));
  return out;
}
template std::vector<float> File::read<float>(const std::string&) const;
template std::vector<double> File::read<double>(const std::string&) const;

template <class T>
void File::read_rows(const std::string& name, int64_t first, int64_t count, T* out) const {
  const Id ds = open_dataset(name);
  const std::vector<int64_t> d = dataset_extent(path_, name, ds.get());
  MAGCNN_REQUIRE(!d.empty() && first >= 0 && count >= 0 && first <= d[0] - count,
                 path_ << ": rows " << first << " to " << first + count << " of dataset '" << name << "' of shape " << shape_text(d));
  if (count == 0) return;
  check_readable(path_, name, ds.get());
  std::vector<hsize_t> start(d.size(), 0), size(d.begin(), d.end());
  start[0] = static_cast<hsize_t>(first);
  size[0] = static_cast<hsize_t>(count);
  Id file_space(MAGCNN_H5(H5Dget_space(ds.get())), H5Sclose);
  MAGCNN_H5(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, size.data(), nullptr));
  Id memory_space(MAGCNN_H5(H5Screate_simple(static_cast<int>(size.size()), size.data(), nullptr)), H5Sclose);
  if (H5Dread(ds.get(), memory_type<T>(), memory_space.get(), file_space.get(), H5P_DEFAULT, out) < 0)
    throw InvalidInput(read_failure(path_, name));
}
template void File::read_rows<float>(const std::string&, int64_t, int64_t, float*) const;
template void File::read_rows<double>(const std::string&, int64_t, int64_t, double*) const;

double File::stored_epsilon(const std::string& name) const {
  const Id ds = open_dataset(name);
  Id type(MAGCNN_H5(H5Dget_type(ds.get())), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_FLOAT) return 0.0;
  std::size_t sign_pos = 0, exp_pos = 0, exp_bits = 0, mantissa_pos = 0, mantissa_bits = 0;
  MAGCNN_H5(H5Tget_fields(type.get(), &sign_pos, &exp_pos, &exp_bits, &mantissa_pos, &mantissa_bits));
  return std::ldexp(1.0, -static_cast<int>(mantissa_bits));
}

std::string File::stored_type_name(const std::string& name) const {
  const Id ds = open_dataset(name);
  Id type(MAGCNN_H5(H5Dget_type(ds.get())), H5Tclose);
  return type_name(type.get());
}

template <class T>
void File::write(const std::string& name, const std::vector<int64_t>& dims, const T* data) {
  std::vector<hsize_t> d(dims.begin(), dims.end());
  Id space(MAGCNN_H5(H5Screate_simple(static_cast<int>(d.size()), d.data(), nullptr)), H5Sclose);
  const hid_t stored = std::is_same_v<T, float> ? H5T_IEEE_F32LE : H5T_IEEE_F64LE;
  Id ds(MAGCNN_H5(H5Dcreate2(id(), name.c_str(), stored, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)), H5Dclose);
  MAGCNN_H5(H5Dwrite(ds.get(), memory_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
  if (ds.close() < 0) throw Error(path_ + ": could not write dataset '" + name + "' (HDF5: " + error_stack() + ")");
}
template void File::write<float>(const std::string&, const std::vector<int64_t>&, const float*);
template void File::write<double>(const std::string&, const std::vector<int64_t>&, const double*);

void File::create_group(const std::string& name) {
  Id group(MAGCNN_H5(H5Gcreate2(id(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)), H5Gclose);
  if (group.close() < 0) throw Error(path_ + ": could not write group '" + name + "' (HDF5: " + error_stack() + ")");
}

Appendable File::appendable(const std::string& name, Type type, const std::vector<int64_t>& row_dims, bool compress,
                            int64_t expected_rows) {
  return Appendable(id(), path_, name, type, std::vector<hsize_t>(row_dims.begin(), row_dims.end()), compress, expected_rows);
}

Appendable::Appendable(hid_t file, const std::string& file_path, const std::string& name, Type type,
                       std::vector<hsize_t> row_dims, bool compress, int64_t expected_rows)
    : file_path_(file_path), name_(name), type_(type), row_dims_(std::move(row_dims)) {
  std::vector<hsize_t> dims{0}, maxdims{H5S_UNLIMITED}, chunk{1};
  hsize_t row = 1;
  for (const hsize_t d : row_dims_) {
    dims.push_back(d);
    maxdims.push_back(d);
    chunk.push_back(d);
    row *= d;
  }
  // Chunks of about 256 KiB of rows: big enough to compress well, small enough to read a slice cheaply.
  chunk[0] = std::max<hsize_t>(1, (256 * 1024 / (type == Type::F32 ? 4 : 8)) / row);
  if (expected_rows > 0) chunk[0] = std::min(chunk[0], static_cast<hsize_t>(expected_rows));
  Id space(MAGCNN_H5(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxdims.data())), H5Sclose);
  Id props(MAGCNN_H5(H5Pcreate(H5P_DATASET_CREATE)), H5Pclose);
  MAGCNN_H5(H5Pset_chunk(props.get(), static_cast<int>(chunk.size()), chunk.data()));
  if (compress) {
    MAGCNN_H5(H5Pset_shuffle(props.get()));
    MAGCNN_H5(H5Pset_deflate(props.get(), 1));
  }
  dataset_ = Id(MAGCNN_H5(H5Dcreate2(file, name.c_str(), file_type(type), space.get(), H5P_DEFAULT, props.get(), H5P_DEFAULT)),
                H5Dclose);
}

void Appendable::append(const void* rows, int64_t count) {
  if (count <= 0) return;
  std::vector<hsize_t> extent{rows_ + static_cast<hsize_t>(count)}, start{rows_}, size{static_cast<hsize_t>(count)};
  for (const hsize_t d : row_dims_) {
    extent.push_back(d);
    start.push_back(0);
    size.push_back(d);
  }
  MAGCNN_H5(H5Dset_extent(dataset_.get(), extent.data()));
  Id file_space(MAGCNN_H5(H5Dget_space(dataset_.get())), H5Sclose);
  MAGCNN_H5(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, size.data(), nullptr));
  Id memory_space(MAGCNN_H5(H5Screate_simple(static_cast<int>(size.size()), size.data(), nullptr)), H5Sclose);
  if (H5Dwrite(dataset_.get(), memory_type_of(type_), memory_space.get(), file_space.get(), H5P_DEFAULT, rows) < 0)
    throw Error(file_path_ + ": could not write dataset '" + name_ + "' (HDF5: " + error_stack() +
                "); is the disk full or a file-size limit reached?");
  rows_ += static_cast<hsize_t>(count);
}

void Appendable::close() {
  if (dataset_.close() < 0)
    throw Error(file_path_ + ": could not finish dataset '" + name_ + "' (HDF5: " + error_stack() +
                "); is the disk full or a file-size limit reached?");
}

void File::close() {
  if (file_.get() < 0) return;
  // Everything still cached is written now: a full disk shows here, not earlier.
  const herr_t flushed = H5Fflush(file_.get(), H5F_SCOPE_LOCAL);
  const std::string flush_error = flushed < 0 ? error_stack() : std::string();
  const herr_t closed = file_.close();
  if (flushed < 0 || closed < 0)
    throw Error(path_ + ": could not finish writing the file (HDF5: " + (flushed < 0 ? flush_error : error_stack()) +
                "); is the disk full or a file-size limit reached?");
}

std::string File::describe(const std::string& object, const std::string& name) const {
  return path_ + ": attribute '" + name + "'" + (object == "/" ? std::string() : " of '" + object + "'");
}

std::optional<Id> File::open_attr(const std::string& object, const std::string& name, int64_t& points) const {
  if (object != "/" && !has(object)) return std::nullopt;
  Id obj = open_object(object);
  const htri_t exists = H5Aexists(obj.get(), name.c_str());
  if (exists < 0) throw InvalidInput(describe(object, name) + " cannot be read (HDF5: " + error_stack() + ")");
  if (exists == 0) return std::nullopt;
  const hid_t a = H5Aopen(obj.get(), name.c_str(), H5P_DEFAULT);
  if (a < 0) throw InvalidInput(describe(object, name) + " cannot be opened (HDF5: " + error_stack() + ")");
  Id attr(a, H5Aclose);
  Id space(MAGCNN_H5(H5Aget_space(attr.get())), H5Sclose);
  const bool null_space = H5Sget_simple_extent_type(space.get()) == H5S_NULL;
  points = null_space ? 0 : static_cast<int64_t>(H5Sget_simple_extent_npoints(space.get()));
  return attr;
}

std::optional<Id> File::open_single_attr(const std::string& object, const std::string& name) const {
  int64_t points = 0;
  std::optional<Id> attr = open_attr(object, name, points);
  if (attr && points != 1)
    throw InvalidInput(describe(object, name) + " holds " + std::to_string(points) +
                       " values; it must hold exactly one (a scalar)");
  return attr;
}

void File::set_attr(const std::string& object, const std::string& name, double value) {
  write_attr(object, name, H5T_NATIVE_DOUBLE, &value);
}
void File::set_attr(const std::string& object, const std::string& name, int64_t value) {
  write_attr(object, name, H5T_NATIVE_INT64, &value);
}
void File::set_attr(const std::string& object, const std::string& name, uint64_t value) {
  write_attr(object, name, H5T_NATIVE_UINT64, &value);
}
void File::set_attr(const std::string& object, const std::string& name, const std::string& value) {
  Id type(MAGCNN_H5(H5Tcopy(H5T_C_S1)), H5Tclose);
  MAGCNN_H5(H5Tset_size(type.get(), std::max<std::size_t>(1, value.size())));
  MAGCNN_H5(H5Tset_strpad(type.get(), H5T_STR_NULLPAD));
  MAGCNN_H5(H5Tset_cset(type.get(), H5T_CSET_UTF8));
  std::string padded = value.empty() ? std::string(1, '\0') : value;
  write_attr(object, name, type.get(), padded.data());
}

void File::set_attr(const std::string& object, const std::string& name, const std::vector<double>& values) {
  MAGCNN_REQUIRE(!values.empty(), "attribute " << name << " with no values");
  const hsize_t n = values.size();
  write_attr(object, name, H5T_NATIVE_DOUBLE, values.data(), &n);
}

void File::write_attr(const std::string& object, const std::string& name, hid_t type, const void* value, const hsize_t* length) {
  Id obj = open_object(object);
  Id space(MAGCNN_H5(length != nullptr ? H5Screate_simple(1, length, nullptr) : H5Screate(H5S_SCALAR)), H5Sclose);
  if (H5Aexists(obj.get(), name.c_str()) > 0) MAGCNN_H5(H5Adelete(obj.get(), name.c_str()));
  Id attr(MAGCNN_H5(H5Acreate2(obj.get(), name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT)), H5Aclose);
  MAGCNN_H5(H5Awrite(attr.get(), type, value));
}

AttributeValue File::attr_number(const std::string& object, const std::string& name) const {
  AttributeValue out;
  try {
    const std::optional<Id> attr = open_single_attr(object, name);
    if (!attr) return out;
    double v = 0;
    read_numeric_attr(attr->get(), describe(object, name), 1, &v);
    out.value = v;
  } catch (const InvalidInput& e) {
    out.problem = e.what();
  }
  return out;
}

std::optional<double> File::attr_double(const std::string& object, const std::string& name) const {
  AttributeValue a = attr_number(object, name);
  if (!a.problem.empty()) throw InvalidInput(a.problem);
  return a.value;
}

std::vector<double> File::attr_doubles(const std::string& object, const std::string& name, std::size_t count) const {
  int64_t points = 0;
  const std::optional<Id> attr = open_attr(object, name, points);
  if (!attr) return {};
  MAGCNN_REQUIRE(points == static_cast<int64_t>(count), describe(object, name) << " holds " << points << " values; it must hold " << count);
  std::vector<double> v(count);
  read_numeric_attr(attr->get(), describe(object, name), count, v.data());
  return v;
}

std::optional<uint64_t> File::attr_uint64(const std::string& object, const std::string& name) const {
  const std::optional<Id> attr = open_single_attr(object, name);
  if (!attr) return std::nullopt;
  Id type(MAGCNN_H5(H5Aget_type(attr->get())), H5Tclose);
  MAGCNN_REQUIRE(H5Tget_class(type.get()) == H5T_INTEGER,
                 describe(object, name) << " is a " << type_name(type.get()) << "; it must be an integer");
  MAGCNN_REQUIRE(plausible_numeric_type(type.get()), describe(object, name) << " declares a number type no writer makes: the file is damaged");
  if (H5Tget_sign(type.get()) != H5T_SGN_NONE) {
    int64_t v = 0;
    MAGCNN_H5(H5Aread(attr->get(), H5T_NATIVE_INT64, &v));
    MAGCNN_REQUIRE(v >= 0, describe(object, name) << " = " << v << "; it must not be negative");
    return static_cast<uint64_t>(v);
  }
  uint64_t v = 0;
  MAGCNN_H5(H5Aread(attr->get(), H5T_NATIVE_UINT64, &v));
  return v;
}

bool File::has_attr(const std::string& object, const std::string& name) const {
  int64_t points = 0;
  return open_attr(object, name, points).has_value();
}

std::optional<std::string> File::attr_string(const std::string& object, const std::string& name) const {
  const std::optional<Id> attr = open_single_attr(object, name);
  if (!attr) return std::nullopt;
  Id type(MAGCNN_H5(H5Aget_type(attr->get())), H5Tclose);
  MAGCNN_REQUIRE(H5Tget_class(type.get()) == H5T_STRING,
                 describe(object, name) << " is a " << type_name(type.get()) << "; it must be a string");
  if (H5Tis_variable_str(type.get()) > 0) {
    Id mem(MAGCNN_H5(H5Tcopy(H5T_C_S1)), H5Tclose);
    MAGCNN_H5(H5Tset_size(mem.get(), H5T_VARIABLE));
    // The file's character set: HDF5 converts no string between ASCII and UTF-8, and h5py writes UTF-8.
    MAGCNN_H5(H5Tset_cset(mem.get(), H5Tget_cset(type.get())));
    char* s = nullptr;
    if (H5Aread(attr->get(), mem.get(), &s) < 0)
      throw InvalidInput(describe(object, name) + " cannot be read as a string (HDF5: " + error_stack() + ")");
    std::string out = s != nullptr ? s : "";
    H5free_memory(s);
    return out;
  }
  const std::size_t size = H5Tget_size(type.get());
  MAGCNN_REQUIRE(size <= (std::size_t{1} << 20), describe(object, name) << " is a string of " << size << " bytes; at most 1 MiB is read");
  std::string out(size, '\0');
  if (H5Aread(attr->get(), type.get(), out.data()) < 0)
    throw InvalidInput(describe(object, name) + " cannot be read as a string (HDF5: " + error_stack() + ")");
  out.resize(out.find('\0') == std::string::npos ? out.size() : out.find('\0'));
  return out;
}

}  // namespace magcnn::h5
