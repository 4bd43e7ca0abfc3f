# The ONNX exporter (`slingshot export-onnx`, src/export): native only, on Debian's
# libonnx-dev (ONNX's generated protobuf classes and checker) and libprotobuf-dev.
# Included by the top-level CMakeLists.txt after slingshot_core exists; when the packages
# are missing the exporter is left out and the CLI says so instead of exporting.
# The fuzz preset builds instrumented harnesses only, so it needs no exporter.
if(SLING_FUZZ)
  return()
endif()

find_package(Protobuf QUIET)
if(Protobuf_FOUND)
  find_package(ONNX CONFIG QUIET)
endif()
if(NOT Protobuf_FOUND OR NOT ONNX_FOUND)
  message(STATUS "ONNX exporter: libonnx-dev or libprotobuf-dev not found; export-onnx left out")
  return()
endif()

file(GLOB SLING_ONNX_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/../src/export/onnx_*.cpp)
add_library(slingshot_onnx STATIC ${SLING_ONNX_SOURCES})
# The imported targets carry ONNX's defines (ONNX_ML=1, ONNX_NAMESPACE=onnx) and include
# path; they stay private, since onnx_export.h includes no ONNX header.
target_link_libraries(slingshot_onnx PUBLIC slingshot_core PRIVATE onnx onnx_proto protobuf::libprotobuf)
# Lets the CLI register a working export-onnx only when the exporter is linked.
target_compile_definitions(slingshot_onnx PUBLIC SLING_HAVE_ONNX=1)
message(STATUS "ONNX exporter: ONNX ${ONNX_VERSION}, protobuf ${Protobuf_VERSION}")
