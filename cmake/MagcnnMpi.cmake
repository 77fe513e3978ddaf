# MPI (OpenMPI from Debian's packages: libopenmpi-dev, openmpi-bin) for data-parallel training across
# processes: built when found (MAGCNN_MPI=AUTO), required with ON, skipped with OFF. Not under the
# sanitizers: MPI's own allocations would be reported as leaks of every test.
set(MAGCNN_WITH_MPI OFF)
if(NOT MAGCNN_MPI STREQUAL "OFF" AND NOT MAGCNN_SANITIZE)
  if(MAGCNN_MPI STREQUAL "ON")
    find_package(MPI REQUIRED COMPONENTS CXX)
  else()
    find_package(MPI QUIET COMPONENTS CXX)
  endif()
  if(MPI_CXX_FOUND)
    set(MAGCNN_WITH_MPI ON)
  endif()
endif()
