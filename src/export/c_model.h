// Export of a quantized model to C for a microcontroller project: model_data.c holds the
// weights and requantization tables as const arrays (flash) and the layer table the device
// runtime (src/cortexm/runtime) executes; model_data.h holds the arena size and the input
// and output sizes and grids as compile-time constants. Activations live in one arena,
// planned here from buffer lifetimes: buffers alive at the same time never overlap. The
// arena also holds the Cortex-M DSP kernels' scratch, planned as one more buffer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "cortexm/runtime/model_format.h"
#include "engine/int8_program.h"

namespace slingshot {

// Where each buffer of an Int8Program lives in the arena.
struct ArenaPlan {
  std::vector<uint32_t> offsets;  // per program buffer, in bytes (16-byte aligned)
  uint32_t scratch_offset = 0;    // the DSP kernels' scratch (16-byte aligned), 0 bytes if
  uint32_t scratch_bytes = 0;     //   no op needs any: the largest need of any op
  uint32_t arena_bytes = 0;       // the peak: the highest end offset of any buffer or the scratch
  uint64_t unshared_bytes = 0;    // the sum of all buffers and the scratch: what the plan saves over
};

// Plans the arena: a buffer is alive from the op that writes it (the input: from the
// start) to the last op that reads it (the output: to the end); larger buffers are
// placed first, each at the lowest offset clear of every buffer alive at the same time.
// The scratch (kernels/cortexm/dsp_scratch.h: the largest conv/dense need) is a buffer
// alive from the first to the last op that needs one.
Result<ArenaPlan> plan_arena(const Int8Program& program);

// The layer table of a program, in memory: what model_data.c spells out. Its pointers
// point into `program` (weights, multipliers), which must outlive the table.
struct CModelTable {
  std::vector<sling_layer> layers;
  ArenaPlan arena;
  sling_model model{};          // `layers` is null here: use descriptor()
  uint64_t constant_bytes = 0;  // weights, biases, requantization tables and the layer table
  // The descriptor with its layer pointer set (valid while this table lives unchanged).
  sling_model descriptor() const {
    sling_model m = model;
    m.layers = layers.data();
    return m;
  }
};

Result<CModelTable> build_c_model_table(const Int8Program& program);

struct CModelSource {
  std::string header;  // model_data.h
  std::string source;  // model_data.c
};

// The two files. `comment` goes into their opening comments (where the model came from).
CModelSource c_model_source(const Int8Program& program, const CModelTable& table, const std::string& comment);

}  // namespace slingshot
