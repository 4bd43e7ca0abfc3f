// The TFLite exporter: export -> import round trips are bit-exact on int8-ref for small
// models built here, the shipped zoo models (ResNet-8, depthwise DS-CNN, ternary weights)
// and the re-exported MLPerf ResNet-8 (when ../shared/mlperf-tiny exists); the file has
// the fields TFLite Micro reads; models it cannot express are refused by name.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "core/file_io.h"
#include "core/rng.h"
#include "engine/engine.h"
#include "model/builders.h"
#include "model/layers/activation.h"
#include "model/layers/conv2d.h"
#include "model/layers/dense.h"
#include "model/layers/depthwise_conv2d.h"
#include "model/layers/fake_quant.h"
#include "model/layers/pool2d.h"
#include "model/layers/shape_ops.h"
#include "quant/post_training.h"
#include "tflite/tflite_export.h"
#include "tflite/tflite_import.h"
#include "tflite/tflite_schema_generated.h"

using namespace slingshot;

namespace {

const std::string kRepo = SLING_SOURCE_DIR;
const std::string kMlperfResnet = kRepo + "/../shared/mlperf-tiny/pretrainedResnet_quant.tflite";

// Random inputs on the model's input grid (every code equally likely), so both models
// quantize them to the same codes.
Tensor grid_inputs(const QuantizedModel& m, int count, uint64_t seed) {
  Shape s{count};
  s.insert(s.end(), m.graph.input_shape().begin(), m.graph.input_shape().end());
  Tensor x(s);
  Rng rng(seed);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = m.nodes[0].output.dequantize(static_cast<int32_t>(rng.below(256)) - 128);
  return x;
}

Tensor int8_ref_logits(const QuantizedModel& m, const Tensor& x) {
  auto engine = make_engine(EngineKind::kInt8Ref, m);
  REQUIRE_MESSAGE(engine.ok(), engine.status().message());
  Tensor y;
  Status s = (*engine)->predict(x, y);
  REQUIRE_MESSAGE(s.ok(), s.message());
  return y;
}

bool bit_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.numel() * sizeof(float)) == 0;
}

// Rows whose logits differ somewhere: a batch where all rows agree would prove little.
int distinct_rows(const Tensor& y) {
  const int64_t n = y.dim(0), k = y.numel() / n;
  int distinct = 0;
  for (int64_t r = 1; r < n; ++r)
    if (std::memcmp(y.data() + r * k, y.data(), k * sizeof(float)) != 0) ++distinct;
  return distinct;
}

// Exports, re-imports and checks the int8-ref outputs agree bit for bit on `count`
// seeded inputs. Returns the export for further checks.
TfliteExport check_round_trip(const QuantizedModel& m, int count, uint64_t seed) {
  auto exported = export_tflite(m);
  REQUIRE_MESSAGE(exported.ok(), exported.status().message());
  auto imported = import_tflite(exported->bytes);
  REQUIRE_MESSAGE(imported.ok(), imported.status().message());
  const Tensor x = grid_inputs(m, count, seed);
  const Tensor a = int8_ref_logits(m, x), b = int8_ref_logits(imported->model, x);
  CHECK(distinct_rows(a) > count / 2);
  CHECK(bit_equal(a, b));
  return *exported;
}

const tflite::Model& model_of(const TfliteExport& e) { return *tflite::GetModel(e.bytes.data()); }

// The quantization of the weight tensor (input 1) of the first operator with `code`.
const tflite::QuantizationParameters* weight_quant(const TfliteExport& e, tflite::BuiltinOperator code) {
  const tflite::Model& m = model_of(e);
  const tflite::SubGraph& sg = *m.subgraphs()->Get(0);
  for (const tflite::Operator* op : *sg.operators())
    if (m.operator_codes()->Get(op->opcode_index())->builtin_code() == code)
      return sg.tensors()->Get(op->inputs()->Get(1))->quantization();
  return nullptr;
}

QuantizedModel load_zoo(const std::string& rel) {
  auto m = load_quantized_model(kRepo + "/" + rel);
  REQUIRE_MESSAGE(m.ok(), m.status().message());
  return std::move(*m);
}

// conv+relu, depthwise+relu6 (stride 2), max pool, an unfused relu, 1x1 conv, add+relu,
// SAME average pool, flatten and dense, quantized by PTQ with nonzero biases.
QuantizedModel small_int8_model() {
  Graph g(Shape{12, 12, 3});
  auto add = [&](const std::string& name, Layer* layer, std::vector<std::string> in) {
    REQUIRE(g.add(name, std::unique_ptr<Layer>(layer), in).ok());
  };
  add("conv", new Conv2D({3, 8, 3, 3, 1, 1, Padding::kSame, true}), {"input"});
  add("conv_relu", new Activation(ActivationKind::kRelu), {"conv"});
  add("dw", new DepthwiseConv2D({8, 3, 3, 2, 2, Padding::kSame, true}), {"conv_relu"});
  add("dw_relu6", new Activation(ActivationKind::kRelu6), {"dw"});
  add("max", new Pool2D({PoolKind::kMax, 2, 2, 1, 1, Padding::kSame}), {"dw_relu6"});
  add("max_relu", new Activation(ActivationKind::kRelu), {"max"});
  add("pw", new Conv2D({8, 8, 1, 1, 1, 1, Padding::kValid, true}), {"max_relu"});
  add("sum", new Add(), {"pw", "dw_relu6"});
  add("sum_relu", new Activation(ActivationKind::kRelu), {"sum"});
  add("avg", new Pool2D({PoolKind::kAverage, 3, 3, 2, 2, Padding::kSame}), {"sum_relu"});
  add("flat", new Flatten(), {"avg"});
  add("logits", new Dense({72, 5, true}), {"flat"});
  init_params(g, 11);
  Rng rng(12);
  for (int i = 1; i < g.num_nodes(); ++i)
    if (Param* b = g.node(i).layer->find_param("bias"))
      for (int64_t k = 0; k < b->value.numel(); ++k) b->value[k] = 0.3f * static_cast<float>(rng.normal());
  Tensor calibration({64, 12, 12, 3});
  for (int64_t i = 0; i < calibration.numel(); ++i) calibration[i] = static_cast<float>(rng.uniform());
  auto q = quantize_post_training(g, calibration, {});
  REQUIRE_MESSAGE(q.ok(), q.status().message());
  return std::move(*q);
}

}  // namespace

TEST_CASE("TFLite export: a small model round-trips bit-exactly and the file is what TFLite reads") {
  const QuantizedModel m = small_int8_model();
  const TfliteExport e = check_round_trip(m, 64, 5);
  CHECK(e.operators.at("CONV_2D") == 2);
  CHECK(e.operators.at("DEPTHWISE_CONV_2D") == 1);
  CHECK(e.operators.at("MAX_POOL_2D") == 1);
  CHECK(e.operators.at("RELU") == 1);  // after the pool: nothing to fuse it into
  CHECK(e.operators.at("ADD") == 1);
  CHECK(e.operators.at("AVERAGE_POOL_2D") == 1);
  CHECK(e.operators.at("RESHAPE") == 1);
  CHECK(e.operators.at("FULLY_CONNECTED") == 1);

  const tflite::Model& fm = model_of(e);
  CHECK(fm.version() == 3);
  REQUIRE(fm.description());
  CHECK(fm.description()->str().find("Slingshot") != std::string::npos);
  CHECK((!fm.buffers()->Get(0)->data() || fm.buffers()->Get(0)->data()->size() == 0));
  for (const tflite::OperatorCode* c : *fm.operator_codes())
    CHECK(static_cast<int>(c->deprecated_builtin_code()) == static_cast<int>(c->builtin_code()));
  const tflite::SubGraph& sg = *fm.subgraphs()->Get(0);
  CHECK(sg.tensors()->Get(sg.inputs()->Get(0))->type() == tflite::TensorType_INT8);
  CHECK(sg.tensors()->Get(sg.outputs()->Get(0))->type() == tflite::TensorType_INT8);
  // Fused activations: conv+RELU, depthwise+RELU6, add+RELU.
  int fused = 0;
  for (const tflite::Operator* op : *sg.operators()) {
    if (auto* o = op->builtin_options_as_Conv2DOptions()) fused += o->fused_activation_function() == tflite::ActivationFunctionType_RELU;
    if (auto* o = op->builtin_options_as_DepthwiseConv2DOptions())
      fused += o->fused_activation_function() == tflite::ActivationFunctionType_RELU6;
    if (auto* o = op->builtin_options_as_AddOptions()) fused += o->fused_activation_function() == tflite::ActivationFunctionType_RELU;
  }
  CHECK(fused == 3);
  // Per-channel weight scales: conv along dimension 0, depthwise along 3.
  const tflite::QuantizationParameters* dw = weight_quant(e, tflite::BuiltinOperator_DEPTHWISE_CONV_2D);
  REQUIRE(dw);
  CHECK(dw->scale()->size() == 8);
  CHECK(dw->quantized_dimension() == 3);
  const tflite::QuantizationParameters* conv = weight_quant(e, tflite::BuiltinOperator_CONV_2D);
  REQUIRE(conv);
  CHECK(conv->scale()->size() == 8);
  CHECK(conv->quantized_dimension() == 0);

  SUBCASE("the round trip check notices a changed bias") {
    std::string bytes = e.bytes;
    tflite::Model* mm = tflite::GetMutableModel(bytes.data());
    const tflite::SubGraph& msg = *mm->subgraphs()->Get(0);
    // The dense bias is the last operator's input 2; shift every channel by a lot.
    const tflite::Operator& last = *msg.operators()->Get(msg.operators()->size() - 1);
    const uint32_t buf = msg.tensors()->Get(last.inputs()->Get(2))->buffer();
    auto* data = mm->mutable_buffers()->GetMutableObject(buf)->mutable_data();
    for (uint32_t k = 0; k + 4 <= data->size(); k += 4) data->Mutate(k + 2, static_cast<uint8_t>(data->Get(k + 2) + 1));
    auto imported = import_tflite(bytes);
    REQUIRE(imported.ok());
    const Tensor x = grid_inputs(m, 16, 6);
    CHECK_FALSE(bit_equal(int8_ref_logits(m, x), int8_ref_logits(imported->model, x)));
  }
}

TEST_CASE("TFLite export: global average pool as MEAN round-trips bit-exactly (tiny CNN)") {
  Graph g = build_tiny_cnn(4, {16, 16, 3}).value();
  init_params(g, 3);
  Tensor calibration({32, 16, 16, 3});
  Rng rng(4);
  for (int64_t i = 0; i < calibration.numel(); ++i) calibration[i] = static_cast<float>(rng.uniform());
  auto m = quantize_post_training(g, calibration, {});
  REQUIRE(m.ok());
  const TfliteExport e = check_round_trip(*m, 64, 8);
  CHECK(e.operators.at("MEAN") == 1);
  const tflite::Model& fm = model_of(e);
  const tflite::SubGraph& sg = *fm.subgraphs()->Get(0);
  for (const tflite::Operator* op : *sg.operators())
    if (auto* o = op->builtin_options_as_ReducerOptions()) CHECK(o->keep_dims());
}

TEST_CASE("TFLite export: shipped zoo models round-trip bit-exactly") {
  SUBCASE("housenum ResNet-8 int8") {
    const TfliteExport e = check_round_trip(load_zoo("models/housenum/resnet8_int8.safetensors"), 32, 21);
    CHECK(e.operators.at("ADD") == 3);
    CHECK(e.operators.at("MEAN") == 1);
  }
  SUBCASE("housenum ResNet-8 adversarially trained (PGD)") {
    check_round_trip(load_zoo("models/housenum/resnet8_pgd_int8.safetensors"), 32, 22);
  }
  SUBCASE("keywords DS-CNN int8 (depthwise)") {
    const TfliteExport e = check_round_trip(load_zoo("models/keywords/dscnn_int8.safetensors"), 32, 23);
    CHECK(e.operators.at("DEPTHWISE_CONV_2D") == 4);
    const tflite::QuantizationParameters* dw = weight_quant(e, tflite::BuiltinOperator_DEPTHWISE_CONV_2D);
    REQUIRE(dw);
    CHECK(dw->quantized_dimension() == 3);
    CHECK(dw->scale()->size() == 64);
  }
  SUBCASE("housenum ResNet-8 with ternary weights") {
    check_round_trip(load_zoo("models/housenum/resnet8_ternary.safetensors"), 32, 24);
  }
  SUBCASE("housenum ResNet-8 with int4 weights") {
    check_round_trip(load_zoo("models/housenum/resnet8_int4.safetensors"), 32, 25);
  }
}

TEST_CASE("TFLite export: the MLPerf ResNet-8 re-exports at its original size and bit-exactly") {
  if (!std::filesystem::exists(kMlperfResnet)) {
    MESSAGE("skipped: " << kMlperfResnet << " is absent (the MLPerf Tiny .tflite files)");
    return;
  }
  auto original = read_file(kMlperfResnet, int64_t{64} << 20);
  REQUIRE(original.ok());
  auto imported = import_tflite(*original);
  REQUIRE_MESSAGE(imported.ok(), imported.status().message());
  const TfliteExport e = check_round_trip(imported->model, 32, 31);
  const double ratio = static_cast<double>(e.bytes.size()) / static_cast<double>(original->size());
  MESSAGE("MLPerf ResNet-8: original " << original->size() << " bytes, re-exported " << e.bytes.size()
                                       << " bytes (ratio " << ratio << ")");
  CHECK(ratio > 0.9);
  CHECK(ratio < 1.1);
  CHECK(e.operators.at("AVERAGE_POOL_2D") == 1);  // the file's own pooling, kept as it was

  // The other small MLPerf int8 files re-export bit-exactly too (depthwise KWS, dense AD).
  for (const char* name : {"kws_ref_model.tflite", "ad01_int8.tflite"}) {
    CAPTURE(name);
    auto bytes = read_file(kRepo + "/../shared/mlperf-tiny/" + name, int64_t{64} << 20);
    REQUIRE(bytes.ok());
    auto other = import_tflite(*bytes);
    REQUIRE_MESSAGE(other.ok(), other.status().message());
    check_round_trip(other->model, 16, 32);
  }
}

TEST_CASE("TFLite export: models it cannot express are refused by name") {
  SUBCASE("a float-only model") {
    QuantizedModel float_only;
    float_only.graph = build_tiny_cnn(4, {16, 16, 3}).value();
    auto r = export_tflite(float_only);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("run slingshot quantize first") != std::string::npos);
  }
  SUBCASE("a node without a TFLite operator") {
    QuantizedModel m = small_int8_model();
    // A fake-quant node after the logits, on the logits' grid: valid, but no TFLite op.
    const ActivationGrid logits = m.nodes[m.graph.output_node()].output;
    FakeQuantConfig c;
    c.scale = logits.scale, c.zero_point = logits.zero_point;
    REQUIRE(m.graph.add("logits_fq", std::make_unique<FakeQuant>(c), {"logits"}).ok());
    REQUIRE(m.graph.set_output("logits_fq").ok());
    m.nodes.push_back({logits, {}, {}, {}});
    auto r = export_tflite(m);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("node 'logits_fq' (fake_quant)") != std::string::npos);
  }
  SUBCASE("4-bit hidden activations") {
    auto r = export_tflite(load_zoo("models/housenum/resnet8_w4a4.safetensors"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("4-bit hidden activations") != std::string::npos);
  }
  SUBCASE("single rounding") {
    QuantizedModel m = small_int8_model();
    m.rounding = RoundingMode::kSingle;
    auto r = export_tflite(m);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("single rounding") != std::string::npos);
  }
}
