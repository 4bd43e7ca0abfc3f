# Model file format checks outside the unit-test binary: an independent Python reader
# (standard library only) must read the committed golden file's weights and agree with
# the sidecar of expected values, and must reject a truncated file. Native only: the
# reader runs on the host and needs no build output.
if(SLING_PLATFORM STREQUAL "native")
  find_program(SLING_SYSTEM_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
  if(SLING_SYSTEM_PYTHON3)
    set(_reader ${CMAKE_SOURCE_DIR}/tests/tools/read_safetensors.py)
    add_test(NAME model_format_python_reader
             COMMAND ${SLING_SYSTEM_PYTHON3} ${_reader} ${CMAKE_SOURCE_DIR}/tests/data/golden_tiny_cnn.safetensors
                     --expect ${CMAKE_SOURCE_DIR}/tests/data/golden_tiny_cnn.expected.json)
    add_test(NAME model_format_python_reader_rejects_truncated
             COMMAND ${SLING_SYSTEM_PYTHON3} ${_reader}
                     ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/model_loader/truncated.safetensors)
    # The reader must fail for the right reason, not merely exit non-zero.
    set_tests_properties(model_format_python_reader_rejects_truncated PROPERTIES
                         PASS_REGULAR_EXPRESSION "FormatError: tensor .* data_offsets .* outside the")
  else()
    message(WARNING "/usr/bin/python3 not found: skipping the independent safetensors reader test")
  endif()
endif()
