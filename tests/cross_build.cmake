# Tests of the native build that exercise the other presets' outputs: the unit tests
# compiled to wasm (run under node), the Cortex-M4 firmware under QEMU, and the libFuzzer
# harnesses. Each fails with a clear message naming the preset to build if its input is
# missing; scripts/build.sh builds all presets before scripts/test.sh runs ctest.
if(NOT SLING_PLATFORM STREQUAL "native")
  return()
endif()

set(SLING_WASM_BUILD_DIR ${CMAKE_SOURCE_DIR}/build/wasm CACHE PATH "Build dir of the wasm preset")
set(SLING_CORTEXM_BUILD_DIR ${CMAKE_SOURCE_DIR}/build/cortex-m4 CACHE PATH "Build dir of the cortex-m4 preset")
set(SLING_FUZZ_BUILD_DIR ${CMAKE_SOURCE_DIR}/build/fuzz CACHE PATH "Build dir of the fuzz preset")
set(SLING_FUZZ_SECONDS 60 CACHE STRING "How long each fuzzer runs in ctest (libFuzzer -max_total_time)")

# Node 20 loads emscripten 3.1.6 output only without its experimental fetch (the loader would
# otherwise fetch() the .wasm by file path).
find_program(SLING_NODE node REQUIRED)
set(wasm_tests_js ${SLING_WASM_BUILD_DIR}/tests/slingshot_tests.js)
add_test(NAME wasm_unit_tests
  COMMAND bash -c "if [ ! -f \"$1\" ]; then echo \"FAIL: wasm tests not built: $1 does not exist. Build them with: cmake --preset wasm && cmake --build --preset wasm\"; exit 1; fi; exec \"$0\" --no-experimental-fetch \"$1\" --no-colors=true"
          ${SLING_NODE} ${wasm_tests_js}
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(wasm_unit_tests PROPERTIES TIMEOUT 1200)

add_test(NAME cortexm_checksum
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cortexm/run_checksum.sh
          ${SLING_CORTEXM_BUILD_DIR}/src/cortexm/slingshot_checksum.elf $<TARGET_FILE:portable_checksum_host>)
set_tests_properties(cortexm_checksum PROPERTIES TIMEOUT 120)

# The Cortex-M DSP int8 kernels against the reference kernels, on the M4 and the M7.
foreach(cpu_machine m4:mps2-an386 m7:mps2-an500)
  string(REPLACE ":" ";" cpu_machine ${cpu_machine})
  list(GET cpu_machine 0 cpu)
  list(GET cpu_machine 1 machine)
  add_test(NAME cortexm_dsp_equivalence_${cpu}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cortexm/run_kernel_equivalence.sh
            ${SLING_CORTEXM_BUILD_DIR}/src/cortexm/slingshot_kernel_equivalence_${cpu}.elf ${machine})
  set_tests_properties(cortexm_dsp_equivalence_${cpu} PROPERTIES TIMEOUT 180)
endforeach()

# One entry per libFuzzer harness of tests/fuzz. Seed inputs are read from
# tests/fuzz/corpus/<name without fuzz_>/; new inputs and crash artifacts go under the fuzz
# build dir.
# The TFLite importer is also seeded with the MLPerf Tiny files when ../shared/mlperf-tiny
# exists (run_fuzzer.sh skips absent seed dirs).
set(SLING_FUZZ_EXTRA_SEEDS_fuzz_tflite_import ${CMAKE_SOURCE_DIR}/../shared/mlperf-tiny)
foreach(fuzzer fuzz_model_loader fuzz_tflite_import)
  string(REGEX REPLACE "^fuzz_" "" seed_name ${fuzzer})
  add_test(NAME ${fuzzer}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/run_fuzzer.sh ${SLING_FUZZ_BUILD_DIR}/tests/fuzz/${fuzzer}
            ${SLING_FUZZ_BUILD_DIR} ${SLING_FUZZ_SECONDS} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${seed_name}
            ${SLING_FUZZ_EXTRA_SEEDS_${fuzzer}})
  math(EXPR fuzz_timeout "${SLING_FUZZ_SECONDS} + 300")
  set_tests_properties(${fuzzer} PROPERTIES TIMEOUT ${fuzz_timeout})
endforeach()
