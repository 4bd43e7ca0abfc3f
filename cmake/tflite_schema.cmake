# The TFLite importer's flatbuffers reader, generated at build time from our schema subset
# (src/tflite/tflite_schema.fbs) by Debian's `flatc` (flatbuffers-compiler). Only the
# header-only runtime (libflatbuffers-dev) is needed to compile it, natively and for wasm.
find_program(SLING_FLATC flatc REQUIRED)
set(SLING_TFLITE_GENERATED_DIR ${CMAKE_BINARY_DIR}/generated)
set(SLING_TFLITE_SCHEMA_HEADER ${SLING_TFLITE_GENERATED_DIR}/tflite/tflite_schema_generated.h)
add_custom_command(
  OUTPUT ${SLING_TFLITE_SCHEMA_HEADER}
  COMMAND ${SLING_FLATC} --cpp --gen-mutable -o ${SLING_TFLITE_GENERATED_DIR}/tflite
          ${CMAKE_SOURCE_DIR}/src/tflite/tflite_schema.fbs
  DEPENDS ${CMAKE_SOURCE_DIR}/src/tflite/tflite_schema.fbs
  COMMENT "flatc: generating the TFLite schema reader"
  VERBATIM)
target_sources(slingshot_core PRIVATE ${SLING_TFLITE_SCHEMA_HEADER})
# Public: tests build and patch TFLite files through the same reader (--gen-mutable).
target_include_directories(slingshot_core PUBLIC ${SLING_TFLITE_GENERATED_DIR})
