// The C model export (export/c_model.h) and the device runtime (src/cortexm/runtime) run
// natively: the in-memory layer table the exporter writes out gives the same output codes
// as int8-ref on every shipped zoo model (the low-bit ones with packed weights); the arena
// plan never lets buffers alive at the same time share bytes, nor the DSP kernels' scratch
// or the unpack buffer with a layer's buffers; packed weights unpack to the codes they
// came from, and codes outside a format are refused; the thermometer encoding is exported
// as its threshold table; the runtime refuses broken tables with status codes.
#include <doctest/doctest.h>

#include <algorithm>

#include "core/rng.h"
#include "cortexm/runtime/model_runtime.h"
#include "cortexm/runtime/weight_packing.h"
#include "engine/engine.h"
#include "export/c_model.h"
#include "kernels/cortexm/dsp_scratch.h"
#include "quant/quantized_model.h"

namespace slingshot {
namespace {

const std::string kModels = std::string(SLING_SOURCE_DIR) + "/models/";

const char* const kZooModels[] = {
    "housenum/resnet8_int8",   "housenum/resnet8_int4",       "housenum/resnet8_ternary",
    "housenum/resnet8_binary", "housenum/resnet8_w4a4",       "housenum/resnet8_jr_ternary",
    "housenum/resnet8_pgd_int8", "housenum/resnet8_trades_int8", "housenum/resnet8_thermometer_int8",
    "keywords/dscnn_int8",     "keywords/dscnn_pgd_int8"};

// Seeded inputs on the input grid, as floats (what the host engine takes) and codes.
void random_inputs(const Int8Program& p, int n, uint64_t seed, Tensor& x, std::vector<int8_t>& codes) {
  Rng rng(seed);
  x.resize(with_batch(n, p.input_shape));
  codes.resize(x.numel());
  const ActivationGrid& g = p.input_grid;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int32_t q = g.qmin + static_cast<int32_t>(rng.below(static_cast<uint32_t>(g.qmax - g.qmin + 1)));
    x[i] = g.dequantize(q);
    codes[i] = static_cast<int8_t>(g.quantize(x[i]));
  }
}

// The scratch a conv or dense op's DSP kernel needs (0 for other ops).
int64_t dsp_scratch_of(const Int8Op& op) {
  if (op.kind == Int8OpKind::kConv2D)
    return conv2d_s8__dsp_scratch_size(op.window.kernel_h, op.window.kernel_w, op.window.input.c, op.window.output.c);
  if (op.kind == Int8OpKind::kDense) return dense_s8__dsp_scratch_size(op.dense.in_dim, op.dense.out_dim);
  return 0;
}

// The codes of a weighted op's filter (0 for other ops).
int64_t filter_codes_of(const Int8Op& op) {
  if (op.kind == Int8OpKind::kConv2D)
    return static_cast<int64_t>(op.window.output.c) * op.window.kernel_h * op.window.kernel_w * op.window.input.c;
  if (op.kind == Int8OpKind::kDepthwiseConv2D)
    return static_cast<int64_t>(op.window.kernel_h) * op.window.kernel_w * op.window.output.c;
  if (op.kind == Int8OpKind::kDense) return static_cast<int64_t>(op.dense.in_dim) * op.dense.out_dim;
  return 0;
}

bool disjoint(uint64_t a, uint64_t a_bytes, uint64_t b, uint64_t b_bytes) { return a + a_bytes <= b || b + b_bytes <= a; }

// Byte ranges of the buffers each op touches must not overlap (an op never runs in place),
// nor, for an op with a DSP kernel, the scratch region, which must hold what it needs; nor,
// with `packed` weights, the op's unpack buffer (nor the scratch), which holds its filter.
void check_op_buffers_disjoint(const Int8Program& p, const ArenaPlan& plan, bool packed = false) {
  CHECK(plan.scratch_offset + plan.scratch_bytes <= plan.arena_bytes);
  CHECK(plan.scratch_offset % 16 == 0);
  REQUIRE(plan.unpack_offsets.size() == p.ops.size());
  int64_t largest_need = 0, largest_filter = 0;
  for (size_t i = 0; i < p.ops.size(); ++i) {
    const Int8Op& op = p.ops[i];
    const uint64_t out_lo = plan.offsets[op.output], out_bytes = p.buffer_elements[op.output];
    const int64_t need = dsp_scratch_of(op), filter = packed ? filter_codes_of(op) : 0;
    const uint64_t unpack = plan.unpack_offsets[i];
    largest_need = std::max(largest_need, need);
    largest_filter = std::max(largest_filter, filter);
    if (filter > 0) {
      CHECK(unpack % 16 == 0);
      CHECK(unpack + static_cast<uint64_t>(filter) <= plan.arena_bytes);
      if (need > 0)
        CHECK_MESSAGE(disjoint(plan.scratch_offset, plan.scratch_bytes, unpack, static_cast<uint64_t>(filter)),
                      "op of node " << op.node << " unpacks its weights into its scratch");
    } else {
      CHECK(unpack == 0);
    }
    for (int b : {op.input, op.input2, op.output}) {
      if (b < 0) continue;
      const uint64_t lo = plan.offsets[b], bytes = p.buffer_elements[b];
      if (b != op.output)
        CHECK_MESSAGE(disjoint(lo, bytes, out_lo, out_bytes), "op of node " << op.node << " reads and writes shared bytes");
      if (need > 0)
        CHECK_MESSAGE(disjoint(lo, bytes, plan.scratch_offset, plan.scratch_bytes),
                      "op of node " << op.node << " shares its scratch");
      if (filter > 0)
        CHECK_MESSAGE(disjoint(lo, bytes, unpack, static_cast<uint64_t>(filter)),
                      "op of node " << op.node << " unpacks its weights onto its buffers");
    }
    CHECK(out_lo + out_bytes <= plan.arena_bytes);
  }
  CHECK(plan.scratch_bytes == largest_need);
  CHECK(plan.unpack_bytes == largest_filter);
}

// A program of buffers of the given sizes, buffer 0 in, the last out, and no ops yet.
Int8Program program_of(std::vector<int64_t> buffer_elements) {
  Int8Program p;
  p.buffer_elements = std::move(buffer_elements);
  p.input_buffer = 0;
  p.output_buffer = static_cast<int>(p.buffer_elements.size()) - 1;
  return p;
}

// Appends an op reading `input` (and `input2`) and writing `output`.
void push_op(Int8Program& p, Int8OpKind kind, int input, int output, int input2 = -1, DenseShape dense = {}) {
  Int8Op op;
  op.kind = kind;
  op.input = input, op.input2 = input2, op.output = output;
  op.dense = dense;
  p.ops.push_back(op);
}

// A zoo model, its program and its exported table.
struct Exported {
  QuantizedModel model;
  Int8Program program;
  CModelTable table;
};

void load_exported(const std::string& name, Exported& e) {
  auto model = load_quantized_model(kModels + name + ".safetensors");
  REQUIRE_MESSAGE(model.ok(), model.status().message());
  e.model = std::move(model.value());
  auto program = compile_int8_program(e.model);
  REQUIRE_MESSAGE(program.ok(), program.status().message());
  e.program = std::move(program.value());
  auto table = build_c_model_table(e.program, e.model.weights);
  REQUIRE_MESSAGE(table.ok(), table.status().message());
  e.table = std::move(table.value());
}

// A copy of a table's layers in `layers` and a descriptor pointing at it, for a test to break.
sling_model editable_descriptor(const CModelTable& t, std::vector<sling_layer>& layers) {
  layers = t.layers;
  sling_model m = t.descriptor();
  m.layers = layers.data();
  return m;
}

}  // namespace

TEST_CASE("c model: the runtime on the exported layer table equals int8-ref on every shipped zoo model") {
  for (const char* name : kZooModels) {
    CAPTURE(name);
    Exported e;
    load_exported(name, e);
    const sling_model m = e.table.descriptor();
    CHECK(m.arena_bytes < e.table.arena.unshared_bytes);  // sharing saves room on every zoo model
    CHECK(m.scratch_bytes > 0);                            // every zoo model has conv layers
    CHECK(m.scratch_offset == e.table.arena.scratch_offset);
    CHECK(m.scratch_bytes == e.table.arena.scratch_bytes);
    const bool packed = e.model.weights != WeightScheme::kInt8;
    CHECK((e.table.arena.unpack_bytes > 0) == packed);  // low-bit models unpack, int8 ones read flash directly
    check_op_buffers_disjoint(e.program, e.table.arena, packed);
    for (size_t i = 0; i < e.table.layers.size(); ++i) {
      const sling_layer& l = e.table.layers[i];
      if (!l.weights) continue;
      CHECK(l.weight_format == weight_format_of(e.model.weights));
      CHECK(l.unpack == e.table.arena.unpack_offsets[i]);
    }

    constexpr int kInputs = 3;
    Tensor x;
    std::vector<int8_t> codes;
    random_inputs(e.program, kInputs, 42, x, codes);
    auto engine = make_engine(EngineKind::kInt8Ref, e.model);
    REQUIRE(engine.ok());
    Tensor logits;
    REQUIRE(engine.value()->predict(x, logits).ok());
    const int64_t out_per = logits.numel() / kInputs;
    REQUIRE(out_per == m.output_bytes);

    std::vector<int8_t> arena(m.arena_bytes);
    for (int k = 0; k < kInputs; ++k) {
      std::copy_n(codes.begin() + k * m.input_bytes, m.input_bytes, arena.begin() + m.input_offset);
      int hook_calls = 0;
      const sling_status s = sling_model_run(
          &m, arena.data(), static_cast<uint32_t>(arena.size()),
          [](void* user, uint32_t, int) { ++*static_cast<int*>(user); }, &hook_calls);
      REQUIRE_MESSAGE(s == SLING_OK, sling_status_message(s));
      CHECK(hook_calls == 2 * static_cast<int>(m.layer_count));
      int differing = 0;
      for (int64_t j = 0; j < out_per; ++j) {
        const int32_t host = e.program.output_grid.quantize(logits[k * out_per + j]);
        differing += arena[m.output_offset + j] != host;
      }
      CHECK_MESSAGE(differing == 0, "input " << k << ": " << differing << " output codes differ from int8-ref");
    }
  }
}

TEST_CASE("c model: the runtime refuses broken tables and small arenas with status codes") {
  Exported e;
  load_exported("housenum/resnet8_int8", e);
  const CModelTable* table = &e.table;
  sling_model m = table->descriptor();
  std::vector<int8_t> arena(m.arena_bytes);
  CHECK(sling_model_run(&m, arena.data(), m.arena_bytes - 1, nullptr, nullptr) == SLING_ERROR_ARENA_TOO_SMALL);
  CHECK(sling_model_run(nullptr, arena.data(), m.arena_bytes, nullptr, nullptr) == SLING_ERROR_NULL_ARGUMENT);
  CHECK(sling_model_run(&m, nullptr, m.arena_bytes, nullptr, nullptr) == SLING_ERROR_NULL_ARGUMENT);
  sling_model wrong_version = m;
  wrong_version.format_version = SLING_MODEL_FORMAT_VERSION + 1;
  CHECK(sling_model_check(&wrong_version, m.arena_bytes) == SLING_ERROR_FORMAT_VERSION);

  std::vector<sling_layer> layers = table->layers;
  sling_model broken = m;
  broken.layers = layers.data();
  layers[0].kind = SLING_LAYER_KIND_COUNT;
  CHECK(sling_model_check(&broken, m.arena_bytes) == SLING_ERROR_BAD_LAYER_KIND);
  layers[0] = table->layers[0];
  layers[0].output = m.arena_bytes;  // past the end
  CHECK(sling_model_check(&broken, m.arena_bytes) == SLING_ERROR_BUFFER_OUT_OF_ARENA);
  layers[0] = table->layers[0];
  layers[0].stride_h = 0;
  CHECK(sling_model_check(&broken, m.arena_bytes) == SLING_ERROR_BAD_GEOMETRY);
  layers[0] = table->layers[0];
  broken.scratch_offset = table->layers[0].output;  // the scratch on a conv layer's output
  CHECK(sling_model_check(&broken, m.arena_bytes) == SLING_ERROR_BAD_SCRATCH);
  broken.scratch_offset = m.arena_bytes - m.scratch_bytes + 16;  // past the end of the arena
  CHECK(sling_model_check(&broken, m.arena_bytes) == SLING_ERROR_BAD_SCRATCH);
  broken.scratch_offset = m.scratch_offset + 2;  // not word aligned
  CHECK(sling_model_check(&broken, m.arena_bytes) == SLING_ERROR_BAD_SCRATCH);
  broken.scratch_offset = m.scratch_offset;
  broken.scratch_bytes = m.scratch_bytes - 1;  // one byte short of the largest layer's need
  CHECK(sling_model_check(&broken, m.arena_bytes) == SLING_ERROR_BAD_SCRATCH);
  broken.scratch_bytes = m.scratch_bytes;
  CHECK(sling_model_check(&broken, m.arena_bytes) == SLING_OK);
  layers[0].weights = nullptr;
  CHECK(sling_model_check(&broken, m.arena_bytes) == SLING_ERROR_NULL_ARGUMENT);
  CHECK(std::string(sling_status_message(SLING_ERROR_ARENA_TOO_SMALL)) == "arena smaller than the model needs");
}

TEST_CASE("c model: model_data.h carries the arena size and grids; model_data.c the table and weights") {
  Exported e;
  load_exported("keywords/dscnn_int8", e);
  const CModelSource files = c_model_source(e.program, e.table, "test");
  const std::string arena = "#define SLING_MODEL_ARENA_BYTES " + std::to_string(e.table.model.arena_bytes) + "u";
  CHECK(files.header.find(arena) != std::string::npos);
  CHECK(files.header.find("#define SLING_MODEL_INPUT_BYTES 490u") != std::string::npos);
  const std::string scratch = "#define SLING_MODEL_SCRATCH_BYTES " + std::to_string(e.table.model.scratch_bytes) + "u";
  CHECK(files.header.find(scratch) != std::string::npos);
  CHECK(files.source.find(".scratch_bytes = SLING_MODEL_SCRATCH_BYTES,") != std::string::npos);
  CHECK(files.header.find("extern const sling_model slingshot_model;") != std::string::npos);
  CHECK(files.source.find("static const int8_t layer0_weights[") != std::string::npos);
  CHECK(files.source.find(".kind = SLING_LAYER_DEPTHWISE_CONV2D") != std::string::npos);
  CHECK(files.source.find("const sling_model slingshot_model = {") != std::string::npos);
}

TEST_CASE("c model: the thermometer encoding is exported as its thresholds; broken ones are refused") {
  Exported e;
  load_exported("housenum/resnet8_thermometer_int8", e);
  const Int8Op& op = e.program.ops[0];
  REQUIRE(op.kind == Int8OpKind::kThermometer);
  const sling_layer& l = e.table.layers[0];
  CHECK(l.kind == SLING_LAYER_THERMOMETER);
  CHECK(l.elements == 32 * 32 * 3);
  CHECK(l.out_c == 16);
  CHECK(l.act_min == op.thermometer.zero_code);
  CHECK(l.act_max == op.thermometer.one_code);
  REQUIRE(l.multipliers != nullptr);
  CHECK(std::equal(op.thresholds.begin(), op.thresholds.end(), l.multipliers));
  CHECK(!l.weights);
  const CModelSource files = c_model_source(e.program, e.table, "test");
  CHECK(files.source.find("static const int32_t layer0_thresholds[16] = {") != std::string::npos);
  CHECK(files.source.find("{.kind = SLING_LAYER_THERMOMETER,") != std::string::npos);
  CHECK(files.source.find(" .multipliers = layer0_thresholds,") != std::string::npos);

  std::vector<sling_layer> layers;
  const sling_model m = editable_descriptor(e.table, layers);
  CHECK(sling_model_check(&m, m.arena_bytes) == SLING_OK);
  layers[0].multipliers = nullptr;
  CHECK(sling_model_check(&m, m.arena_bytes) == SLING_ERROR_NULL_ARGUMENT);
  layers[0] = l;
  layers[0].out_c = 0;
  CHECK(sling_model_check(&m, m.arena_bytes) == SLING_ERROR_BAD_GEOMETRY);
  layers[0] = l;
  layers[0].output = m.arena_bytes - 16 * 32 * 32 * 3;  // its 16 levels per code end at the arena's end
  CHECK(sling_model_check(&m, m.arena_bytes) == SLING_OK);
  layers[0].out_c = 17;  // one level more runs past it
  CHECK(sling_model_check(&m, m.arena_bytes) == SLING_ERROR_BUFFER_OUT_OF_ARENA);
}

TEST_CASE("c model: the arena plan shares bytes only between buffers never alive together") {
  // input -> a -> b -> c, with c = add(a, b): a stays alive until the add, so a and b
  // must not overlap, while the input (dead after op 0) may share with b.
  Int8Program p = program_of({100, 64, 64, 64});
  push_op(p, Int8OpKind::kClamp, 0, 1);
  push_op(p, Int8OpKind::kClamp, 1, 2);
  push_op(p, Int8OpKind::kAdd, 1, 3, 2);
  auto plan = plan_arena(p);
  REQUIRE(plan.ok());
  auto disjoint = [&](int a, int b) {
    const uint64_t a0 = plan->offsets[a], a1 = a0 + p.buffer_elements[a];
    const uint64_t b0 = plan->offsets[b], b1 = b0 + p.buffer_elements[b];
    return a1 <= b0 || b1 <= a0;
  };
  CHECK(disjoint(0, 1));
  CHECK(disjoint(1, 2));
  CHECK(disjoint(1, 3));
  CHECK(disjoint(2, 3));
  CHECK(plan->unshared_bytes == 292);
  CHECK(plan->arena_bytes <= 112 + 64 + 80);  // the input's room is reused: less than the sum
  CHECK(plan->arena_bytes < 292);
  CHECK(plan->scratch_bytes == 0);  // no conv or dense op
}

TEST_CASE("c model: the kernel scratch is planned clear of the buffers of every op that needs it") {
  // input -> dense a -> clamp b -> dense c: the scratch lives over ops 0..2, so it may
  // not share bytes with the input (read by op 0), a, b or c; and it is the larger need.
  Int8Program p = program_of({64, 32, 32, 8});
  push_op(p, Int8OpKind::kDense, 0, 1, -1, {1, 64, 32});
  push_op(p, Int8OpKind::kClamp, 1, 2);
  push_op(p, Int8OpKind::kDense, 2, 3, -1, {1, 32, 8});
  auto plan = plan_arena(p);
  REQUIRE(plan.ok());
  CHECK(plan->scratch_bytes == dense_s8__dsp_scratch_size(64, 32));
  CHECK(plan->scratch_bytes == 2 * 32 * 4 + 2 * 64 * 2);
  CHECK(plan->unshared_bytes == 64 + 32 + 32 + 8 + plan->scratch_bytes);
  for (int b = 0; b < 4; ++b) {
    const uint64_t lo = plan->offsets[b], hi = lo + p.buffer_elements[b];
    CHECK_MESSAGE((hi <= plan->scratch_offset || plan->scratch_offset + plan->scratch_bytes <= lo),
                  "buffer " << b << " shares bytes with the scratch");
  }
  CHECK(plan->arena_bytes >= plan->scratch_offset + plan->scratch_bytes);
  CHECK(conv2d_s8__dsp_scratch_size(3, 3, 8, 16) == 2 * 16 * 4 + 2 * 72 * 2);           // Cin % 4 == 0
  CHECK(conv2d_s8__dsp_scratch_size(3, 3, 3, 16) == 2 * 16 * 4 + 2 * 27 * 2 + 27);      // staging
}

TEST_CASE("c model: packed weights unpack to the codes they came from, odd counts included") {
  struct Format {
    uint32_t format;
    int32_t lowest, highest;
    bool zero;  // whether 0 is a code
  };
  const Format formats[] = {{SLING_WEIGHTS_INT4, -7, 7, true},
                            {SLING_WEIGHTS_TERNARY, -1, 1, true},
                            {SLING_WEIGHTS_BINARY, -1, 1, false}};
  Rng rng(7);
  for (const Format& f : formats) {
    const uint32_t bits = sling_weight_bits(f.format);
    for (uint32_t count : {1u, 2u, 3u, 5u, 7u, 8u, 9u, 15u, 17u, 31u, 33u, 100u, 1001u}) {
      CAPTURE(f.format);
      CAPTURE(count);
      std::vector<int8_t> codes(count);
      for (int8_t& c : codes) {
        do c = static_cast<int8_t>(f.lowest + static_cast<int32_t>(rng.below(static_cast<uint32_t>(f.highest - f.lowest + 1))));
        while (!f.zero && c == 0);
      }
      auto packed = pack_weights(f.format, codes.data(), count);
      REQUIRE_MESSAGE(packed.ok(), packed.status().message());
      CHECK(packed->size() == (count * bits + 7) / 8);
      CHECK(packed->size() == sling_packed_weight_bytes(f.format, count));
      const uint32_t used_bits = count * bits % 8;  // the bits after the last code are 0
      if (used_bits != 0) CHECK((packed->back() >> used_bits) == 0);
      std::vector<int8_t> unpacked(count + 4, 99);  // 99: nothing is written past the count
      sling_unpack_weights(f.format, packed->data(), count, unpacked.data());
      CHECK(std::equal(codes.begin(), codes.end(), unpacked.begin()));
      CHECK(std::all_of(unpacked.begin() + count, unpacked.end(), [](int8_t v) { return v == 99; }));
    }
  }
  // The exact bit layout of model_format.h: least significant bits first, two's complement
  // fields, binary 1 = +1.
  auto pack = [](uint32_t format, std::vector<int8_t> codes) {
    auto r = pack_weights(format, codes.data(), codes.size());
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    return r.value();
  };
  CHECK(pack(SLING_WEIGHTS_INT4, {-7, 7, 3}) == std::vector<uint8_t>{0x79, 0x03});
  CHECK(pack(SLING_WEIGHTS_TERNARY, {1, -1, 0, 1, -1}) == std::vector<uint8_t>{0x4d, 0x03});
  CHECK(pack(SLING_WEIGHTS_BINARY, {1, -1, -1, 1, 1, 1, 1, 1, -1, 1}) == std::vector<uint8_t>{0xf9, 0x02});
  const std::vector<int8_t> int8_codes = {-128, 0, 127};
  CHECK(pack(SLING_WEIGHTS_INT8, int8_codes) == std::vector<uint8_t>{0x80, 0x00, 0x7f});
  // The never-written patterns read as their two's complement value, and every format
  // but int8 needs an unpack buffer as large as the filter.
  const uint8_t int4_minus8 = 0x08, ternary_minus2 = 0x02;
  int8_t code = 0;
  sling_unpack_weights(SLING_WEIGHTS_INT4, &int4_minus8, 1, &code);
  CHECK(code == -8);
  sling_unpack_weights(SLING_WEIGHTS_TERNARY, &ternary_minus2, 1, &code);
  CHECK(code == -2);
  CHECK(sling_unpack_buffer_bytes(SLING_WEIGHTS_INT8, 1000) == 0);
  CHECK(sling_unpack_buffer_bytes(SLING_WEIGHTS_BINARY, 1000) == 1000);
  CHECK(sling_weight_bits(SLING_WEIGHTS_FORMAT_COUNT) == 0);
}

TEST_CASE("c model: codes outside a packed format are refused, naming the weight and the value") {
  struct Bad {
    uint32_t format;
    int8_t code;
    const char* message;
  };
  const Bad bad[] = {{SLING_WEIGHTS_INT4, 8, "weight 2 is 8, outside the int4 codes (-7..7)"},
                     {SLING_WEIGHTS_INT4, -8, "weight 2 is -8, outside the int4 codes"},
                     {SLING_WEIGHTS_TERNARY, 2, "weight 2 is 2, outside the ternary codes (-1, 0, 1)"},
                     {SLING_WEIGHTS_TERNARY, -2, "weight 2 is -2, outside the ternary codes"},
                     {SLING_WEIGHTS_BINARY, 0, "weight 2 is 0, outside the binary codes (-1, 1)"},
                     {SLING_WEIGHTS_BINARY, 5, "weight 2 is 5, outside the binary codes"}};
  for (const Bad& b : bad) {
    const int8_t codes[] = {1, -1, b.code, 1};
    auto r = pack_weights(b.format, codes, 4);
    REQUIRE_FALSE(r.ok());
    CHECK_MESSAGE(r.status().message().find(b.message) != std::string::npos, r.status().message());
  }
  const int8_t one = 1;
  CHECK_FALSE(pack_weights(SLING_WEIGHTS_FORMAT_COUNT, &one, 1).ok());
  // A model whose weights lie outside the scheme it records is refused, not truncated: the
  // int8 ResNet-8's codes as a ternary model.
  Exported e;
  load_exported("housenum/resnet8_int8", e);
  auto table = build_c_model_table(e.program, WeightScheme::kTernary);
  REQUIRE_FALSE(table.ok());
  CHECK_MESSAGE(table.status().message().find("layer 0 (CONV2D) of a ternary model: weight ") != std::string::npos,
                table.status().message());
}

TEST_CASE("c model: packed weights shrink the flash; the runtime refuses bad weight formats and unpack buffers") {
  Exported int8_model, ternary, binary;
  load_exported("housenum/resnet8_int8", int8_model);
  load_exported("housenum/resnet8_ternary", ternary);
  load_exported("housenum/resnet8_binary", binary);
  // The same architecture: only the weight arrays differ in size (int8: one byte per code;
  // ternary: 2 bits; binary: 1 bit, each padded to 4 bytes).
  uint64_t codes = 0, ternary_bytes = 0, binary_bytes = 0;
  for (const Int8Op& op : int8_model.program.ops) {
    const uint64_t n = static_cast<uint64_t>(filter_codes_of(op));
    codes += n;
    ternary_bytes += (n * 2 + 31) / 32 * 4;
    binary_bytes += (n + 31) / 32 * 4;
  }
  REQUIRE(codes > 70000);
  CHECK(ternary.table.constant_bytes == int8_model.table.constant_bytes - codes + ternary_bytes);
  CHECK(binary.table.constant_bytes == int8_model.table.constant_bytes - codes + binary_bytes);
  CHECK(int8_model.table.arena.unpack_bytes == 0);
  CHECK(ternary.table.arena.unpack_bytes == 3 * 3 * 64 * 64);  // the largest conv filter, as int8
  // Each filter is unpacked into room dead while its layer runs: the arena grows by less
  // than one buffer alive throughout for the largest filter would cost.
  CHECK(ternary.table.model.arena_bytes > int8_model.table.model.arena_bytes);
  CHECK(ternary.table.model.arena_bytes < int8_model.table.model.arena_bytes + ternary.table.arena.unpack_bytes);

  // model_data.c: packed layers say their format and unpack offset and hold uint8 bytes;
  // int8 ones do not.
  const CModelSource t_files = c_model_source(ternary.program, ternary.table, "test");
  CHECK(t_files.source.find(".weight_format = SLING_WEIGHTS_TERNARY, .weights = layer0_weights,") !=
        std::string::npos);
  CHECK(t_files.source.find("static const uint8_t layer0_weights[108] SLING_MODEL_ALIGN = { /* 432 codes, "
                            "ternary packed */") != std::string::npos);
  CHECK(t_files.source.find(" .unpack = " + std::to_string(ternary.table.layers[0].unpack) + ",},") !=
        std::string::npos);
  const CModelSource i_files = c_model_source(int8_model.program, int8_model.table, "test");
  CHECK(i_files.source.find("weight_format") == std::string::npos);
  CHECK(i_files.source.find("unpack") == std::string::npos);

  std::vector<sling_layer> layers;
  const sling_model m = editable_descriptor(ternary.table, layers);
  CHECK(sling_model_check(&m, m.arena_bytes) == SLING_OK);
  layers[0].weight_format = SLING_WEIGHTS_FORMAT_COUNT;
  CHECK(sling_model_check(&m, m.arena_bytes) == SLING_ERROR_BAD_WEIGHT_FORMAT);
  CHECK(std::string(sling_status_message(SLING_ERROR_BAD_WEIGHT_FORMAT)) ==
        "a layer's weight format is unknown to this runtime");
  const sling_layer conv0 = ternary.table.layers[0];
  layers[0] = conv0;
  layers[0].unpack = conv0.output;  // on the layer's output
  CHECK(sling_model_check(&m, m.arena_bytes) == SLING_ERROR_BAD_UNPACK_BUFFER);
  layers[0].unpack = conv0.input;  // on its input
  CHECK(sling_model_check(&m, m.arena_bytes) == SLING_ERROR_BAD_UNPACK_BUFFER);
  layers[0].unpack = m.scratch_offset;  // on the DSP kernels' scratch
  CHECK(sling_model_check(&m, m.arena_bytes) == SLING_ERROR_BAD_UNPACK_BUFFER);
  layers[0].unpack = conv0.unpack + 2;  // not word aligned
  CHECK(sling_model_check(&m, m.arena_bytes) == SLING_ERROR_BAD_UNPACK_BUFFER);
  layers[0].unpack = m.arena_bytes - 432 + 4;  // its 432 codes would run past the arena
  CHECK(sling_model_check(&m, m.arena_bytes) == SLING_ERROR_BAD_UNPACK_BUFFER);
  layers[0] = conv0;
  // An int8 layer reads flash directly and ignores its unpack offset.
  std::vector<sling_layer> int8_layers;
  const sling_model int8_m = editable_descriptor(int8_model.table, int8_layers);
  int8_layers[0].unpack = 3;
  CHECK(sling_model_check(&int8_m, int8_m.arena_bytes) == SLING_OK);
}

}  // namespace slingshot
