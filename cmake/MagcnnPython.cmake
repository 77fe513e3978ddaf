# The Python module: built when Python's headers and pybind11 (Debian: pybind11-dev) are found
# (MAGCNN_PYTHON=AUTO), required with ON, skipped with OFF. A static engine linked into a shared module
# must be position-independent, so everything is compiled so when the module is built. Under the
# sanitizers it is not built: an ASan runtime cannot be loaded into an interpreter that was not started
# with it.
set(MAGCNN_WITH_PYTHON OFF)
if(NOT MAGCNN_PYTHON STREQUAL "OFF" AND NOT MAGCNN_SANITIZE)
  set(PYBIND11_FINDPYTHON ON)
  if(MAGCNN_PYTHON STREQUAL "ON")
    find_package(Python 3.8 REQUIRED COMPONENTS Interpreter Development.Module)
    find_package(pybind11 CONFIG REQUIRED)
  else()
    find_package(Python 3.8 QUIET COMPONENTS Interpreter Development.Module)
    if(Python_FOUND)
      find_package(pybind11 CONFIG QUIET)
    endif()
  endif()
  if(Python_FOUND AND pybind11_FOUND)
    set(MAGCNN_WITH_PYTHON ON)
    set(CMAKE_POSITION_INDEPENDENT_CODE ON)
  elseif(NOT Python_FOUND)
    message(STATUS "magcnn: no Python module (Python's headers not found)")
  else()
    message(STATUS "magcnn: no Python module (pybind11 not found; Debian: apt-get install pybind11-dev)")
  endif()
endif()
