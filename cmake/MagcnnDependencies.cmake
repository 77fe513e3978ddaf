# Third-party libraries, all from Debian's packages (licences in README.md).
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(HDF5 REQUIRED COMPONENTS C)
find_package(CLI11 CONFIG REQUIRED)
# libpng (zlib licence): grayscale PNG field maps for magcnn-infer, as the original Predict_cnn read them.
find_package(PNG REQUIRED)
# toml++ header-only: Debian also ships it compiled, but headers alone travel to machines without it.
find_path(TOMLPP_INCLUDE_DIR toml++/toml.h)
if(NOT TOMLPP_INCLUDE_DIR)
  message(FATAL_ERROR "toml++ not found (Debian: apt-get install libtomlplusplus-dev)")
endif()
add_library(magcnn_toml INTERFACE)
target_include_directories(magcnn_toml SYSTEM INTERFACE ${TOMLPP_INCLUDE_DIR})
target_compile_definitions(magcnn_toml INTERFACE TOML_HEADER_ONLY=1)

# FFTW 3 (double for the exact CPU path, single for the float path the GPU mirrors), with its OpenMP
# threading. GPL-2+: see README.md, section Licences.
find_path(FFTW3_INCLUDE_DIR fftw3.h)
foreach(_lib fftw3 fftw3_omp fftw3f fftw3f_omp)
  find_library(FFTW_${_lib}_LIBRARY ${_lib})
  if(NOT FFTW_${_lib}_LIBRARY)
    message(FATAL_ERROR "FFTW library ${_lib} not found (Debian: apt-get install libfftw3-dev)")
  endif()
endforeach()
if(NOT FFTW3_INCLUDE_DIR)
  message(FATAL_ERROR "fftw3.h not found (Debian: apt-get install libfftw3-dev)")
endif()
add_library(magcnn_fftw INTERFACE)
target_include_directories(magcnn_fftw SYSTEM INTERFACE ${FFTW3_INCLUDE_DIR})
target_link_libraries(magcnn_fftw INTERFACE
  ${FFTW_fftw3_omp_LIBRARY} ${FFTW_fftw3_LIBRARY} ${FFTW_fftw3f_omp_LIBRARY} ${FFTW_fftw3f_LIBRARY})

add_library(magcnn_hdf5 INTERFACE)
target_include_directories(magcnn_hdf5 SYSTEM INTERFACE ${HDF5_C_INCLUDE_DIRS})
target_compile_definitions(magcnn_hdf5 INTERFACE ${HDF5_C_DEFINITIONS})
target_link_libraries(magcnn_hdf5 INTERFACE ${HDF5_C_LIBRARIES})

if(MAGCNN_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(MAGCNN_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

# The network's CPU path. oneDNN (Apache-2.0) runs the float convolutions; OpenBLAS (BSD, its OpenMP
# build) the GEMMs of the im2col convolutions (double, for gradient checks, and float where oneDNN is
# absent). Both optional: without them, plain loops, slower. PLplot (LGPL) draws loss curves, also
# optional: without it magcnn-train says it drew none.
# Debian's dnnl-config.cmake insists on OpenCL headers (its library links the OpenCL loader, which the
# package depends on); only the CPU engine is used here, so header and library are found directly.
find_path(DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.hpp)
find_library(DNNL_LIBRARY dnnl)
if(DNNL_INCLUDE_DIR AND DNNL_LIBRARY AND NOT TARGET DNNL::dnnl)
  add_library(DNNL::dnnl UNKNOWN IMPORTED)
  set_target_properties(DNNL::dnnl PROPERTIES IMPORTED_LOCATION "${DNNL_LIBRARY}" INTERFACE_INCLUDE_DIRECTORIES "${DNNL_INCLUDE_DIR}")
endif()
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(OPENBLAS QUIET IMPORTED_TARGET openblas)
  pkg_check_modules(PLPLOT QUIET IMPORTED_TARGET plplot-c++)
endif()
set(MAGCNN_HAVE_DNNL OFF)
if(TARGET DNNL::dnnl)
  set(MAGCNN_HAVE_DNNL ON)
endif()
set(MAGCNN_HAVE_BLAS OFF)
if(TARGET PkgConfig::OPENBLAS)
  set(MAGCNN_HAVE_BLAS ON)
endif()
set(MAGCNN_HAVE_PLPLOT OFF)
if(TARGET PkgConfig::PLPLOT)
  set(MAGCNN_HAVE_PLPLOT ON)
endif()
