// The C model export (export/c_model.h) and the device runtime (src/cortexm/runtime) run
// natively: the in-memory layer table the exporter writes out gives the same output codes
// as int8-ref on every shipped int8 zoo model; the arena plan never lets buffers alive at
// the same time share bytes; the runtime refuses broken tables with status codes.
#include <doctest/doctest.h>

#include <algorithm>

#include "core/rng.h"
#include "cortexm/runtime/model_runtime.h"
#include "engine/engine.h"
#include "export/c_model.h"
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

// Byte ranges of the buffers each op touches must not overlap (an op never runs in place).
void check_op_buffers_disjoint(const Int8Program& p, const ArenaPlan& plan) {
  for (const Int8Op& op : p.ops) {
    const uint64_t out_lo = plan.offsets[op.output], out_hi = out_lo + p.buffer_elements[op.output];
    for (int b : {op.input, op.input2}) {
      if (b < 0) continue;
      const uint64_t lo = plan.offsets[b], hi = lo + p.buffer_elements[b];
      CHECK_MESSAGE((hi <= out_lo || out_hi <= lo), "op of node " << op.node << " reads and writes shared bytes");
    }
    CHECK(out_hi <= plan.arena_bytes);
  }
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
  CHECK(files.header.find("extern const sling_model slingshot_model;") != std::string::npos);
  CHECK(files.source.find("static const int8_t layer0_weights[") != std::string::npos);
  CHECK(files.source.find(".kind = SLING_LAYER_DEPTHWISE_CONV2D") != std::string::npos);
  CHECK(files.source.find("const sling_model slingshot_model = {") != std::string::npos);
}

TEST_CASE("c model: the arena plan shares bytes only between buffers never alive together") {
  // input -> a -> b -> c, with c = add(a, b): a stays alive until the add, so a and b
  // must not overlap, while the input (dead after op 0) may share with b.
  Int8Program p;
  p.buffer_elements = {100, 64, 64, 64};
  p.input_buffer = 0;
  p.output_buffer = 3;
  Int8Op op;
  op.kind = Int8OpKind::kClamp;
  op.input = 0, op.output = 1;
  p.ops.push_back(op);
  op.input = 1, op.output = 2;
  p.ops.push_back(op);
  op.kind = Int8OpKind::kAdd;
  op.input = 1, op.input2 = 2, op.output = 3;
  p.ops.push_back(op);
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
}

}  // namespace slingshot
