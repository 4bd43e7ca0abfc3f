# The native `xnnpack` engine on Debian's XNNPACK (libxnnpack-dev, 0.0~git20220216).
# Included by the top-level CMakeLists.txt natively, after slingshot_core exists. Without
# the library the build goes on and `xnnpack` reports "not part of this build".
find_path(SLING_XNNPACK_INCLUDE_DIR xnnpack.h)
find_library(SLING_XNNPACK_LIBRARY NAMES XNNPACK xnnpack)
if(NOT SLING_XNNPACK_INCLUDE_DIR OR NOT SLING_XNNPACK_LIBRARY)
  message(STATUS "XNNPACK not found: the xnnpack engine is left out")
  return()
endif()
message(STATUS "XNNPACK: ${SLING_XNNPACK_LIBRARY}")

# xnnpack.h includes <pthreadpool.h>, which libxnnpack-dev does not pull in (it lives in
# libpthreadpool-dev). The engine passes a null thread pool and needs only the opaque
# handle type, so without the real header a one-line stand-in declares exactly that.
find_path(SLING_PTHREADPOOL_INCLUDE_DIR pthreadpool.h)
if(NOT SLING_PTHREADPOOL_INCLUDE_DIR)
  set(SLING_PTHREADPOOL_INCLUDE_DIR ${CMAKE_BINARY_DIR}/xnnpack_shim)
  file(WRITE ${SLING_PTHREADPOOL_INCLUDE_DIR}/pthreadpool.h
       "// Stand-in for libpthreadpool-dev's header: the opaque handle xnnpack.h names.\n"
       "#pragma once\ntypedef struct pthreadpool* pthreadpool_t;\n")
endif()

# Only folders the compiler does not search already: naming /usr/include explicitly would
# break libstdc++'s #include_next <stdlib.h>.
set(SLING_XNNPACK_INCLUDES)
foreach(dir ${SLING_XNNPACK_INCLUDE_DIR} ${SLING_PTHREADPOOL_INCLUDE_DIR})
  if(NOT dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
    list(APPEND SLING_XNNPACK_INCLUDES ${dir})
  endif()
endforeach()
target_sources(slingshot_core PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src/engine/xnnpack_engine.cpp)
set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/src/engine/xnnpack_engine.cpp PROPERTIES
  INCLUDE_DIRECTORIES "${SLING_XNNPACK_INCLUDES}")
target_link_libraries(slingshot_core PUBLIC ${SLING_XNNPACK_LIBRARY})
target_compile_definitions(slingshot_core PUBLIC SLING_HAVE_XNNPACK=1)
