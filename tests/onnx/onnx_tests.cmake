# `slingshot export-onnx` checked in onnxruntime-node (run_onnx_check.sh). Included from
# tests/CMakeLists.txt natively when the CLI is built; needs the ONNX exporter in the build
# (cmake/onnx_export.cmake), node and the repository's node_modules (scripts/setup.sh).
if(TARGET slingshot_onnx)
  add_test(NAME onnx_export
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/run_onnx_check.sh $<TARGET_FILE:slingshot> ${CMAKE_SOURCE_DIR})
endif()
