// The thermometer defense end to end: the input-encoding layer against
// defenses/thermometer's encoder, its backward against finite differences of the
// relaxation (the BPDA gradient), the int8 kernel against the float encoding on every
// input code, a tiny thermometer model trained, quantized and run on every engine, BPDA
// PGD against it, the TFLite exporter that cannot express the layer refusing it, and the
// C export run on the device runtime giving int8-ref's codes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "attack_test_support.h"
#include "grad_check.h"
#include "cortexm/runtime/model_runtime.h"
#include "defenses/thermometer.h"
#include "engine/engine.h"
#include "engine/int8_program.h"
#include "export/c_model.h"
#include "kernels/ref/thermometer_s8__ref.h"
#include "model/builders.h"
#include "model/layer_registry.h"
#include "model/layers/thermometer.h"
#include "quant/fake_quant_graph.h"
#include "quant/post_training.h"
#include "tflite/tflite_export.h"

using namespace slingshot;
using slingshot::attack_test::contains;

namespace {

Thermometer thermometer_layer(int levels, float lo = 0.0f, float hi = 1.0f) { return Thermometer({levels, lo, hi}); }

template <class T>
TensorT<T> run_forward(const Thermometer& layer, const TensorT<T>& x) {
  TensorT<T> out;
  std::vector<TensorT<T>> cache;
  std::vector<T> scratch;
  const TensorT<T>* in[1] = {&x};
  REQUIRE(layer.forward(ForwardArgs<T>{in, &out, &cache, &scratch, Mode::kInference, KernelPath::kRef}).ok());
  return out;
}

// Values that include every bucket edge k / levels exactly, values just beside them, and
// values outside the range.
Tensor edge_values(int levels, float lo, float hi, Shape shape) {
  Tensor x(shape);
  Rng rng(5);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float edge = lo + (hi - lo) * static_cast<float>(rng.below(levels + 1)) / static_cast<float>(levels);
    switch (i % 4) {
      case 0: x[i] = edge; break;
      case 1: x[i] = std::nextafter(edge, hi + 1.0f); break;
      case 2: x[i] = std::nextafter(edge, lo - 1.0f); break;
      default: x[i] = rng.uniform(lo - 0.2f * (hi - lo), hi + 0.2f * (hi - lo)); break;
    }
  }
  return x;
}

// A quantized model that is one thermometer node over a [1, 1, values] input on `in_grid`.
QuantizedModel encoding_model(int levels, float lo, float hi, const ActivationGrid& in_grid, int64_t values = 1) {
  QuantizedModel m;
  m.graph = Graph({1, 1, values});
  REQUIRE(m.graph.append("thermometer", std::make_unique<Thermometer>(ThermometerConfig{levels, lo, hi})).ok());
  m.nodes.resize(2);
  m.nodes[0].output = in_grid;
  m.nodes[1].output = thermometer_output_grid(8);
  REQUIRE(validate_quantized_model(m).ok());
  return m;
}

}  // namespace

TEST_CASE("thermometer layer: forward is defenses/thermometer's encoding, bit for bit") {
  for (int levels : {2, 5, 16, 255}) {
    for (const std::pair<float, float>& range : {std::pair{0.0f, 1.0f}, std::pair{-1.5f, 2.0f}}) {
      const float lo = range.first, hi = range.second;
      CAPTURE(levels);
      CAPTURE(lo);
      const Tensor x = edge_values(levels, lo, hi, {3, 4, 5, 2});
      const Tensor out = run_forward(thermometer_layer(levels, lo, hi), x);
      Tensor expected;
      REQUIRE(thermometer_encode(x, InputDomain{lo, hi, 0.0f}, levels, expected).ok());
      REQUIRE(out.shape() == Shape{3, 4, 5, 2 * levels});
      CHECK(out.storage() == expected.storage());
      // The double pass encodes the same.
      TensorD xd(x.shape());
      for (int64_t i = 0; i < x.numel(); ++i) xd[i] = x[i];
      const TensorD outd = run_forward(thermometer_layer(levels, lo, hi), xd);
      int64_t differ = 0;
      for (int64_t i = 0; i < out.numel(); ++i) differ += outd[i] != out[i];
      CHECK(differ == 0);
    }
  }
  const Shape in[1] = {Shape{2, 8, 8, 3}};
  CHECK(*thermometer_layer(16).output_shape(in) == Shape{2, 8, 8, 48});
}

TEST_CASE("thermometer layer: hyper-parameters round-trip and bad ones are refused") {
  auto layer = make_layer("thermometer", {{"levels", 16}, {"lo", 0.0}, {"hi", 1.0}});
  REQUIRE(layer.ok());
  nlohmann::json j;
  (*layer)->to_json(j);
  CHECK(j["levels"] == 16);
  auto copy = clone_layer(**layer);
  REQUIRE(copy.ok());
  CHECK(static_cast<const Thermometer&>(**copy).config().levels == 16);
  for (const auto& bad : {nlohmann::json{{"levels", 1}, {"lo", 0}, {"hi", 1}},
                          nlohmann::json{{"levels", 257}, {"lo", 0}, {"hi", 1}},
                          nlohmann::json{{"levels", 4}, {"lo", 1}, {"hi", 1}},
                          nlohmann::json{{"levels", 4}, {"lo", 0}}}) {
    auto r = make_layer("thermometer", bad);
    CAPTURE(bad.dump());
    REQUIRE(!r.ok());
    CHECK(contains(r.status(), "thermometer"));
  }
}

TEST_CASE("thermometer layer: backward is the derivative of the clipped-ramp relaxation (BPDA)") {
  const ThermometerConfig config{8, -0.5f, 1.5f};
  const Thermometer layer(config);
  const int levels = config.levels;
  Rng rng(3);
  TensorD x({2, 3, 3, 2});
  for (int64_t i = 0; i < x.numel(); ++i) {
    // Stay 1e-4 buckets away from the ramps' kinks, where central differences straddle them.
    double v;
    do {
      v = rng.uniform(-0.7f, 1.7f);
    } while (std::abs(std::remainder(levels * (v - config.lo) / (config.hi - config.lo) + 0.5, 1.0)) < 1e-4);
    x[i] = v;
  }
  TensorD dy({2, 3, 3, 2 * levels});
  for (int64_t i = 0; i < dy.numel(); ++i) dy[i] = rng.uniform(-1.0f, 1.0f);
  // sum dy * relaxation(x): bit 0 is the constant 1.
  auto relaxed_loss = [&] {
    double sum = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      sum += dy[i * levels];
      for (int k = 1; k < levels; ++k) sum += dy[i * levels + k] * thermometer_ramp<double>(x[i], config, k);
    }
    return sum;
  };
  const TensorD out = run_forward(layer, x);
  TensorD dx;
  std::vector<TensorD> cache;
  std::vector<double> scratch;
  const TensorD* in[1] = {&x};
  TensorD* grads[1] = {&dx};
  REQUIRE(layer.backward(BackwardArgs<double>{in, &out, &dy, grads, {}, &cache, &scratch, KernelPath::kRef}).ok());
  std::vector<int64_t> all(x.numel());
  for (int64_t i = 0; i < x.numel(); ++i) all[i] = i;
  double mean_abs = 0;
  int64_t nonzero = 0;
  for (int64_t i = 0; i < dx.numel(); ++i) {
    mean_abs += std::abs(dx[i]) / dx.numel();
    nonzero += dx[i] != 0;
  }
  const auto st = testing::check_tensor_gradient(x, dx, all, relaxed_loss, 1e-6, 1e-3 * mean_abs);
  CHECK(st.max_rel <= 1e-4);
  CHECK(nonzero > x.numel() / 2);  // most values lie within half a bucket of a threshold

  // At bucket centers the relaxation is the exact encoding.
  for (int j = 0; j < levels; ++j) {
    const double center = config.lo + (config.hi - config.lo) * (j + 0.5) / levels;
    const int ones = thermometer_ones(static_cast<float>(center), config.lo, config.hi, levels);
    for (int k = 1; k < levels; ++k) CHECK(thermometer_ramp<double>(center, config, k) == (k < ones ? 1.0 : 0.0));
  }
}

TEST_CASE("thermometer_s8__ref: every input code gives the float encoding of its dequantized value") {
  struct Case {
    int levels;
    float lo, hi;
    ActivationGrid grid;
  };
  ActivationGrid signed_grid;  // [-1, 1] around zero: codes below 0 all fall in bucket 0
  signed_grid.scale = 1.0f / 127.0f;
  signed_grid.zero_point = 0;
  ActivationGrid odd_grid;
  odd_grid.scale = 0.0037f;
  odd_grid.zero_point = -100;
  ActivationGrid four_bit;
  set_grid_bits(four_bit, 4);
  four_bit.scale = 1.0f / 15.0f;
  four_bit.zero_point = -8;
  const Case cases[] = {{16, 0.0f, 1.0f, image_input_grid()}, {2, 0.0f, 1.0f, image_input_grid()},
                        {255, 0.0f, 1.0f, image_input_grid()}, {7, 0.0f, 1.0f, signed_grid},
                        {10, 0.1f, 0.8f, odd_grid},             {5, 0.0f, 1.0f, four_bit}};
  for (const Case& c : cases) {
    CAPTURE(c.levels);
    CAPTURE(c.grid.scale);
    const QuantizedModel m = encoding_model(c.levels, c.lo, c.hi, c.grid);
    auto program = compile_int8_program(m);
    REQUIRE(program.ok());
    REQUIRE(program->ops.size() == 1);
    const Int8Op& op = program->ops[0];
    REQUIRE(op.kind == Int8OpKind::kThermometer);
    std::vector<int8_t> codes;
    for (int32_t q = c.grid.qmin; q <= c.grid.qmax; ++q) codes.push_back(static_cast<int8_t>(q));
    const int64_t n = static_cast<int64_t>(codes.size());
    std::vector<int8_t> out(n * c.levels);
    ThermometerQuantParams params = op.thermometer;
    params.thresholds = op.thresholds.data();
    thermometer_s8__ref(n, params, codes.data(), out.data());
    // The float encoding of each dequantized code, on the output grid.
    Tensor values({n, 1});
    for (int64_t i = 0; i < n; ++i) values[i] = c.grid.dequantize(codes[i]);
    Tensor bits;
    REQUIRE(thermometer_encode(values, InputDomain{c.lo, c.hi, 0.0f}, c.levels, bits).ok());
    const ActivationGrid& og = m.nodes[1].output;
    int64_t differ = 0, ones = 0;
    for (int64_t i = 0; i < bits.numel(); ++i) {
      differ += og.dequantize(out[i]) != bits[i];
      ones += bits[i] == 1.0f;
    }
    CHECK(differ == 0);
    CHECK(ones > n);  // more than bit 0 alone: the case exercises the thresholds
  }
}

TEST_CASE("a thermometer model trains, quantizes, runs on every engine and is attacked through BPDA") {
  const Dataset train_set = *make_shapes_dataset(1200, 16, 41);
  const Dataset test_set = *make_shapes_dataset(96, 16, 42);
  auto built = build_architecture("thermometer8_tiny_cnn", 4, {16, 16, 3});
  REQUIRE_MESSAGE(built.ok(), built.status().message());
  Graph g = std::move(*built);
  REQUIRE(g.node(1).layer->type() == std::string("thermometer"));
  REQUIRE(g.node(1).output_shape == Shape{1, 16, 16, 24});  // 3 channels x 8 bits
  init_params(g, 9);
  TrainConfig cfg;
  cfg.epochs = 12;  // binary inputs learn slower than raw pixels at first
  cfg.learning_rate = 0.1f;
  cfg.seed = 2;
  auto history = train(g, train_set, nullptr, cfg);
  REQUIRE(history.ok());
  CHECK(history->back().train_loss < 0.7 * history->front().train_loss);

  auto quantized = quantize_post_training(g, train_set.inputs, {});
  REQUIRE_MESSAGE(quantized.ok(), quantized.status().message());
  const QuantizedModel& m = *quantized;
  CHECK(m.nodes[1].output == thermometer_output_grid(8));
  const Tensor x = attack_test::grid_samples(test_set.inputs);
  const std::vector<int>& y = test_set.labels;

  // The int8 engines agree bit for bit; float and fake-quant classify like them.
  std::vector<EngineKind> engines = {EngineKind::kFloat, EngineKind::kFakeQuant, EngineKind::kInt8Ref,
                                     EngineKind::kInt8Simd};
  if (parse_engine("xnnpack").ok()) engines.push_back(EngineKind::kXnnpack);
  std::vector<Tensor> logits;
  for (EngineKind e : engines) {
    const std::string name = engine_name(e);
    CAPTURE(name);
    auto engine = make_engine(e, m);
    REQUIRE_MESSAGE(engine.ok(), engine.status().message());
    Tensor out;
    REQUIRE((*engine)->predict(x, out).ok());
    const double acc = attack_test::count_correct(out, y) / static_cast<double>(y.size());
    MESSAGE(name << " clean accuracy " << acc);
    CHECK(acc > 0.7);  // chance is 0.25
    logits.push_back(std::move(out));
  }
  CHECK(logits[2].storage() == logits[3].storage());
  // The encoding on the int8 engine is the float encoding of the quantized input.
  auto layer_codes = int8_layer_codes(m, x);
  REQUIRE(layer_codes.ok());
  REQUIRE((*layer_codes)[1].name == "thermometer");
  Tensor dequantized = x;
  for (int64_t i = 0; i < x.numel(); ++i) dequantized[i] = m.nodes[0].output.dequantize(m.nodes[0].output.quantize(x[i]));
  Tensor bits;
  REQUIRE(thermometer_encode(dequantized, image_domain(), 8, bits).ok());
  int64_t differ = 0;
  for (int64_t i = 0; i < bits.numel(); ++i)
    differ += m.nodes[1].output.dequantize((*layer_codes)[1].codes[i]) != bits[i];
  CHECK(differ == 0);

  // Gradients through the head are BPDA over the model's source.
  for (GradientSource source : {GradientSource::kFloat, GradientSource::kSte}) {
    auto target = attack_test::model_target(m, EngineKind::kInt8Ref, source);
    CHECK(target->gradient_source() == GradientSource::kBpda);
    CHECK(target->inner_gradient_source() == source);
  }
  auto fd_target = attack_test::model_target(m, EngineKind::kInt8Ref, GradientSource::kFd);
  CHECK(fd_target->gradient_source() == GradientSource::kFd);

  auto target = attack_test::model_target(m, EngineKind::kInt8Ref, GradientSource::kSte);
  auto pgd = attack_test::named_attack("pgd");
  AttackParams p;
  p.max_iter = 10;
  p.batch_size = 96;
  p.eps = 0.0f;
  const BatchOutcome none = attack_test::run_attack_batch(*pgd, *target, x, y, p);
  CHECK(none.x_adv.storage() == x.storage());
  int clean_correct = 0, still_correct = 0;
  for (const ExampleRecord& r : none.records) {
    clean_correct += r.clean_prediction == r.label;
    still_correct += r.adversarial_prediction == r.label;
  }
  CHECK(still_correct == clean_correct);

  p.eps = 16.0f / 255.0f;  // half a bucket of 8 levels: every value can reach its nearest threshold
  const BatchOutcome attacked = attack_test::run_attack_batch(*pgd, *target, x, y, p);
  int robust = 0;
  for (const ExampleRecord& r : attacked.records) robust += r.adversarial_prediction == r.label;
  const double noise = attack_test::accuracy_under_sign_noise(*target, x, y, p.eps, 4);
  MESSAGE("BPDA PGD at 16/255: clean " << clean_correct << "/96, robust " << robust << "/96, sign noise accuracy "
                                       << noise);
  CHECK(robust < clean_correct - 20);
  CHECK(robust / 96.0 < noise - 0.1);  // the relaxation's gradient beats random noise

  // TFLite has no operator for the layer: its exporter refuses it by name.
  auto tflite = export_tflite(m);
  REQUIRE(!tflite.ok());
  CHECK(contains(tflite.status(), "thermometer"));

  // The C export carries it (SLING_LAYER_THERMOMETER); the device runtime, run natively on
  // the exported table, gives int8-ref's output codes on every test sample.
  auto program = compile_int8_program(m);
  REQUIRE(program.ok());
  auto table = build_c_model_table(*program, m.weights);
  REQUIRE_MESSAGE(table.ok(), table.status().message());
  REQUIRE(table->layers[0].kind == SLING_LAYER_THERMOMETER);
  CHECK(table->layers[0].out_c == 8);
  CHECK(table->layers[0].elements == 16 * 16 * 3);
  const sling_model desc = table->descriptor();
  std::vector<int8_t> arena(desc.arena_bytes);
  const int64_t in_per = x.numel() / x.dim(0), out_per = logits[2].numel() / x.dim(0);
  REQUIRE(out_per == desc.output_bytes);
  REQUIRE(in_per == desc.input_bytes);
  int64_t differing = 0;
  for (int64_t k = 0; k < x.dim(0); ++k) {
    for (int64_t i = 0; i < in_per; ++i)
      arena[desc.input_offset + i] = static_cast<int8_t>(program->input_grid.quantize(x[k * in_per + i]));
    const sling_status s = sling_model_run(&desc, arena.data(), desc.arena_bytes, nullptr, nullptr);
    REQUIRE_MESSAGE(s == SLING_OK, sling_status_message(s));
    for (int64_t j = 0; j < out_per; ++j)
      differing += arena[desc.output_offset + j] != program->output_grid.quantize(logits[2][k * out_per + j]);
  }
  CHECK(differing == 0);
}
