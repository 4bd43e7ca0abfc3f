// The C model export (export/c_model.h) and the device runtime (src/cortexm/runtime) run
// natively: the in-memory layer table the exporter writes out gives the same output codes
// as int8-ref on every shipped int8 zoo model; the arena plan never lets buffers alive at
// the same time share bytes, nor the DSP kernels' scratch with a conv/dense layer's
// buffers; the runtime refuses broken tables with status codes.
#include <doctest/doctest.h>

#include <algorithm>

#include "core/rng.h"
#include "cortexm/runtime/model_runtime.h"
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
    "housenum/resnet8_pgd_int8", "housenum/resnet8_trades_int8", "keywords/dscnn_int8",
    "keywords/dscnn_pgd_int8"};

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

// Byte ranges of the buffers each op touches must not overlap (an op never runs in place),
// nor, for an op with a DSP kernel, the scratch region, which must hold what it needs.
void check_op_buffers_disjoint(const Int8Program& p, const ArenaPlan& plan) {
  const uint64_t scratch_lo = plan.scratch_offset, scratch_hi = scratch_lo + plan.scratch_bytes;
  CHECK(scratch_hi <= plan.arena_bytes);
  CHECK(plan.scratch_offset % 16 == 0);
  int64_t largest_need = 0;
  for (const Int8Op& op : p.ops) {
    const uint64_t out_lo = plan.offsets[op.output], out_hi = out_lo + p.buffer_elements[op.output];
    const int64_t need = dsp_scratch_of(op);
    largest_need = std::max(largest_need, need);
    for (int b : {op.input, op.input2, op.output}) {
      if (b < 0) continue;
      const uint64_t lo = plan.offsets[b], hi = lo + p.buffer_elements[b];
      if (b != op.output)
        CHECK_MESSAGE((hi <= out_lo || out_hi <= lo), "op of node " << op.node << " reads and writes shared bytes");
      if (need > 0)
        CHECK_MESSAGE((hi <= scratch_lo || scratch_hi <= lo), "op of node " << op.node << " shares its scratch");
    }
    CHECK(out_hi <= plan.arena_bytes);
  }
  CHECK(plan.scratch_bytes == largest_need);
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
  auto table = build_c_model_table(e.program);
  REQUIRE_MESSAGE(table.ok(), table.status().message());
  e.table = std::move(table.value());
}

}  // namespace

TEST_CASE("c model: the runtime on the exported layer table equals int8-ref on every shipped int8 zoo model") {
  for (const char* name : kZooModels) {
    CAPTURE(name);
    Exported e;
    load_exported(name, e);
    const sling_model m = e.table.descriptor();
    CHECK(m.arena_bytes < e.table.arena.unshared_bytes);  // sharing saves room on every zoo model
    CHECK(m.scratch_bytes > 0);                            // every zoo model has conv layers
    CHECK(m.scratch_offset == e.table.arena.scratch_offset);
    CHECK(m.scratch_bytes == e.table.arena.scratch_bytes);
    check_op_buffers_disjoint(e.program, e.table.arena);

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

}  // namespace slingshot
