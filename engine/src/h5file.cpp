// HDF5 wrapper: error capture, files, datasets and attributes.
#include "h5file.h"

#include <filesystem>
#include <mutex>

namespace magcnn::h5 {
namespace {

// HDF5 prints its error stack to stderr by default; we collect it into the exception instead.
void silence_hdf5_once() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

herr_t collect(unsigned n, const H5E_error2_t* e, void* data) {
  auto* text = static_cast<std::string*>(data);
  if (n < 3 && e->desc != nullptr) *text += std::string(n ? "; " : "") + e->desc;
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

}  // namespace

int64_t checked(int64_t status, const char* call, const char* file, int line) {
  if (status >= 0) return status;
  std::string stack;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect, &stack);
  H5Eclear2(H5E_DEFAULT);
  throw_call_failure(call, file, line, "HDF5: " + (stack.empty() ? std::string("unknown error") : stack));
}

File File::create(const std::string& path) {
  silence_hdf5_once();
  const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (id < 0) {
    H5Eclear2(H5E_DEFAULT);
    throw InvalidInput("cannot create " + path + " (does its directory exist, and may we write there?)");
  }
  return File(path, Id(id, H5Fclose));
}

File File::open(const std::string& path) {
  silence_hdf5_once();
  if (!std::filesystem::exists(path)) throw InvalidInput(path + ": no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw InvalidInput(path + " is not an HDF5 file (or cannot be read)");
  }
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) {
    H5Eclear2(H5E_DEFAULT);
    throw InvalidInput("cannot open " + path + " for reading");
  }
  return File(path, Id(id, H5Fclose));
}

bool File::has(const std::string& name) const {
  const htri_t exists = H5Lexists(id(), name.c_str(), H5P_DEFAULT);
  if (exists <= 0) {
    H5Eclear2(H5E_DEFAULT);
    return false;
  }
  return H5Oexists_by_name(id(), name.c_str(), H5P_DEFAULT) > 0;
}

std::vector<int64_t> File::dims(const std::string& name) const {
  MAGCNN_REQUIRE(has(name), path_ << ": no dataset '" << name << "'");
  Id ds(MAGCNN_H5(H5Dopen2(id(), name.c_str(), H5P_DEFAULT)), H5Dclose);
  Id space(MAGCNN_H5(H5Dget_space(ds.get())), H5Sclose);
  const int rank = static_cast<int>(MAGCNN_H5(H5Sget_simple_extent_ndims(space.get())));
  std::vector<hsize_t> d(static_cast<std::size_t>(rank));
  MAGCNN_H5(H5Sget_simple_extent_dims(space.get(), d.data(), nullptr));
  return std::vector<int64_t>(d.begin(), d.end());
}

template <class T>
std::vector<T> File::read(const std::string& name) const {
  const std::vector<int64_t> d = dims(name);
  int64_t n = 1;
  for (const int64_t v : d) n *= v;
  Id ds(MAGCNN_H5(H5Dopen2(id(), name.c_str(), H5P_DEFAULT)), H5Dclose);
  Id type(MAGCNN_H5(H5Dget_type(ds.get())), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  MAGCNN_REQUIRE(cls == H5T_FLOAT || cls == H5T_INTEGER, path_ << ": dataset '" << name << "' is not numeric");
  std::vector<T> out(static_cast<std::size_t>(n));
  if (n > 0) MAGCNN_H5(H5Dread(ds.get(), memory_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()));
  return out;
}
template std::vector<float> File::read<float>(const std::string&) const;
template std::vector<double> File::read<double>(const std::string&) const;

template <class T>
void File::write(const std::string& name, const std::vector<int64_t>& dims, const T* data) {
  std::vector<hsize_t> d(dims.begin(), dims.end());
  Id space(MAGCNN_H5(H5Screate_simple(static_cast<int>(d.size()), d.data(), nullptr)), H5Sclose);
  const hid_t stored = std::is_same_v<T, float> ? H5T_IEEE_F32LE : H5T_IEEE_F64LE;
  Id ds(MAGCNN_H5(H5Dcreate2(id(), name.c_str(), stored, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)), H5Dclose);
  MAGCNN_H5(H5Dwrite(ds.get(), memory_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
}
template void File::write<float>(const std::string&, const std::vector<int64_t>&, const float*);
template void File::write<double>(const std::string&, const std::vector<int64_t>&, const double*);

Appendable File::appendable(const std::string& name, Type type, const std::vector<int64_t>& row_dims, bool compress) {
  return Appendable(id(), name, type, std::vector<hsize_t>(row_dims.begin(), row_dims.end()), compress);
}

Appendable::Appendable(hid_t file, const std::string& name, Type type, std::vector<hsize_t> row_dims, bool compress)
    : type_(type), row_dims_(std::move(row_dims)) {
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
  MAGCNN_H5(H5Dwrite(dataset_.get(), memory_type_of(type_), memory_space.get(), file_space.get(), H5P_DEFAULT, rows));
  rows_ += static_cast<hsize_t>(count);
}

Id File::open_object(const std::string& object) const {
  return Id(MAGCNN_H5(H5Oopen(id(), object.c_str(), H5P_DEFAULT)), H5Oclose);
}

namespace {
void write_attr(hid_t object, const std::string& name, hid_t type, const void* value) {
  Id space(MAGCNN_H5(H5Screate(H5S_SCALAR)), H5Sclose);
  if (H5Aexists(object, name.c_str()) > 0) MAGCNN_H5(H5Adelete(object, name.c_str()));
  Id attr(MAGCNN_H5(H5Acreate2(object, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT)), H5Aclose);
  MAGCNN_H5(H5Awrite(attr.get(), type, value));
}
}  // namespace

void File::set_attr(const std::string& object, const std::string& name, double value) {
  write_attr(open_object(object).get(), name, H5T_NATIVE_DOUBLE, &value);
}
void File::set_attr(const std::string& object, const std::string& name, int64_t value) {
  write_attr(open_object(object).get(), name, H5T_NATIVE_INT64, &value);
}
void File::set_attr(const std::string& object, const std::string& name, const std::string& value) {
  Id type(MAGCNN_H5(H5Tcopy(H5T_C_S1)), H5Tclose);
  MAGCNN_H5(H5Tset_size(type.get(), std::max<std::size_t>(1, value.size())));
  MAGCNN_H5(H5Tset_strpad(type.get(), H5T_STR_NULLPAD));
  MAGCNN_H5(H5Tset_cset(type.get(), H5T_CSET_UTF8));
  std::string padded = value.empty() ? std::string(1, '\0') : value;
  write_attr(open_object(object).get(), name, type.get(), padded.data());
}

std::optional<double> File::attr_double(const std::string& object, const std::string& name) const {
  if (object != "/" && !has(object)) return std::nullopt;
  Id obj = open_object(object);
  if (H5Aexists(obj.get(), name.c_str()) <= 0) return std::nullopt;
  Id attr(MAGCNN_H5(H5Aopen(obj.get(), name.c_str(), H5P_DEFAULT)), H5Aclose);
  Id type(MAGCNN_H5(H5Aget_type(attr.get())), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  MAGCNN_REQUIRE(cls == H5T_FLOAT || cls == H5T_INTEGER,
                 path_ << ": attribute '" << name << "' of " << object << " is not a number");
  double v = 0;
  MAGCNN_H5(H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &v));
  return v;
}

std::optional<std::string> File::attr_string(const std::string& object, const std::string& name) const {
  if (object != "/" && !has(object)) return std::nullopt;
  Id obj = open_object(object);
  if (H5Aexists(obj.get(), name.c_str()) <= 0) return std::nullopt;
  Id attr(MAGCNN_H5(H5Aopen(obj.get(), name.c_str(), H5P_DEFAULT)), H5Aclose);
  Id type(MAGCNN_H5(H5Aget_type(attr.get())), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING) return std::nullopt;
  if (H5Tis_variable_str(type.get()) > 0) {
    Id mem(MAGCNN_H5(H5Tcopy(H5T_C_S1)), H5Tclose);
    MAGCNN_H5(H5Tset_size(mem.get(), H5T_VARIABLE));
    char* s = nullptr;
    MAGCNN_H5(H5Aread(attr.get(), mem.get(), &s));
    std::string out = s != nullptr ? s : "";
    H5free_memory(s);
    return out;
  }
  const std::size_t size = H5Tget_size(type.get());
  std::string out(size, '\0');
  MAGCNN_H5(H5Aread(attr.get(), type.get(), out.data()));
  out.resize(out.find('\0') == std::string::npos ? out.size() : out.find('\0'));
  return out;
}

}  // namespace magcnn::h5
