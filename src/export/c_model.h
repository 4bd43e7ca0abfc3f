// Export of a quantized model to C for a microcontroller project: model_data.c holds the
// weights and requantization tables (and a thermometer layer's per-level thresholds) as
// const arrays (flash) and the layer table the device runtime (src/cortexm/runtime)
// executes; model_data.h holds the arena size and the input and output sizes and grids as
// compile-time constants. Activations live in one arena,
// planned here from buffer lifetimes: buffers alive at the same time never overlap. The
// arena also holds the Cortex-M DSP kernels' scratch, planned as one more buffer, and the
// unpack buffers of packed weights: low-bit models (int4, ternary, binary, as the quantized
// model records its weight scheme) keep 4, 2 or 1 bit per weight in flash
// (model_format.h, SLING_WEIGHTS_*), which the runtime expands to int8 in a buffer alive
// only while the layer runs, planned like any other.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "cortexm/runtime/model_format.h"
#include "engine/int8_program.h"
#include "quant/quantized_model.h"

namespace slingshot {

// Where each buffer of an Int8Program lives in the arena.
struct ArenaPlan {
  std::vector<uint32_t> offsets;  // per program buffer, in bytes (16-byte aligned)
  uint32_t scratch_offset = 0;    // the DSP kernels' scratch (16-byte aligned), 0 bytes if
  uint32_t scratch_bytes = 0;     //   no op needs any: the largest need of any op
  std::vector<uint32_t> unpack_offsets;  // per op: where its packed filter is expanded (16-byte
                                        //   aligned; 0 for ops without packed weights)
  uint32_t unpack_bytes = 0;            // the largest such filter (0 if every op is int8)
  uint32_t arena_bytes = 0;       // the peak: the highest end offset of any buffer or the scratch
  uint64_t unshared_bytes = 0;    // the sum of all buffers and the scratch: what the plan saves over
};

// Plans the arena: a buffer is alive from the op that writes it (the input: from the
// start) to the last op that reads it (the output: to the end); larger buffers are
// placed first, each at the lowest offset clear of every buffer alive at the same time.
// The scratch (kernels/cortexm/dsp_scratch.h: the largest conv/dense need) is a buffer
// alive from the first to the last op that needs one. With packed `weights` (any scheme
// but int8) each weighted op's unpack buffer (cortexm/runtime/weight_packing.h: its
// filter as int8) is a buffer alive during that op only.
Result<ArenaPlan> plan_arena(const Int8Program& program, WeightScheme weights = WeightScheme::kInt8);

// The flash format of a weight scheme's codes (SLING_WEIGHTS_*).
uint32_t weight_format_of(WeightScheme scheme);

// Packs `count` codes in `format` (model_format.h's layout, unused trailing bits 0);
// int8 is a plain copy. A code outside the format (int4: [-7, 7]; ternary: {-1, 0, 1};
// binary: {-1, 1}) is refused with its index and value.
Result<std::vector<uint8_t>> pack_weights(uint32_t format, const int8_t* codes, uint64_t count);

// The layer table of a program, in memory: what model_data.c spells out. Its pointers
// point into `program` (int8 weights, multipliers), which must outlive the table, and into
// `packed_weights`.
struct CModelTable {
  std::vector<sling_layer> layers;
  std::vector<std::vector<uint8_t>> packed_weights;  // per layer; empty for int8 weights and unweighted layers
  ArenaPlan arena;
  sling_model model{};          // `layers` is null here: use descriptor()
  // Moves keep the packed arrays where `layers` points; a copy would point into the original.
  CModelTable() = default;
  CModelTable(CModelTable&&) = default;
  CModelTable& operator=(CModelTable&&) = default;
  CModelTable(const CModelTable&) = delete;
  CModelTable& operator=(const CModelTable&) = delete;
  uint64_t constant_bytes = 0;  // weights (packed ones padded to 4 bytes), biases, requantization
                                //   tables and the layer table: model_data.o's .rodata
  // The descriptor with its layer pointer set (valid while this table lives unchanged).
  sling_model descriptor() const {
    sling_model m = model;
    m.layers = layers.data();
    return m;
  }
};

// `weights`: the weight scheme the quantized model records (QuantizedModel::weights); every
// weighted op's codes are packed in its format, and refused if one lies outside it.
Result<CModelTable> build_c_model_table(const Int8Program& program, WeightScheme weights);

struct CModelSource {
  std::string header;  // model_data.h
  std::string source;  // model_data.c
};

// The two files. `comment` goes into their opening comments (where the model came from).
CModelSource c_model_source(const Int8Program& program, const CModelTable& table, const std::string& comment);

}  // namespace slingshot
