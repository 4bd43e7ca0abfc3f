// Quantized models end to end: grids and weight quantizers, post-training quantization
// of a trained model, the fake-quant mirror against the int8 reference engine, low-bit
// variants, the version-2 model file (round trip and every malformed parameter), and
// the straight-through gradient of fake_quant.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include "data/synthetic_shapes.h"
#include "engine/engine.h"
#include "engine/int8_program.h"
#include "model/builders.h"
#include "model/layer_registry.h"
#include "model/layers/dense.h"
#include "model/layers/fake_quant.h"
#include "model/model_file.h"
#include "quant/fake_quant_graph.h"
#include "quant/post_training.h"
#include "quant/weight_quantizers.h"
#include "train/trainer.h"

using namespace slingshot;
using nlohmann::json;

namespace {

// A tiny CNN trained briefly on the generated shapes set, once per test binary.
const Graph& trained_tiny_cnn() {
  static Graph g = [] {
    Dataset train_set = *make_shapes_dataset(3000, 16, 1);
    Graph m = build_tiny_cnn(4, {16, 16, 3}).value();
    init_params(m, 3);
    TrainConfig cfg;
    cfg.epochs = 6;
    cfg.seed = 5;
    REQUIRE(train(m, train_set, nullptr, cfg).ok());
    return m;
  }();
  return g;
}

const Dataset& test_set() {
  static Dataset d = *make_shapes_dataset(600, 16, 1 + 1000003);
  return d;
}

Tensor calibration_images(int n) { return make_shapes_dataset(n, 16, 1)->inputs; }

QuantizedModel quantize(const Graph& g, QuantizeOptions o = {}) {
  auto m = quantize_post_training(g, calibration_images(128), o);
  REQUIRE_MESSAGE(m.ok(), m.status().message());
  return std::move(*m);
}

Tensor predict(EngineKind kind, const QuantizedModel& m, const Tensor& x) {
  auto e = make_engine(kind, m);
  REQUIRE_MESSAGE(e.ok(), e.status().message());
  Tensor logits;
  const Status s = (*e)->predict(x, logits);
  REQUIRE_MESSAGE(s.ok(), s.message());
  return logits;
}

int argmax(const Tensor& t, int64_t row) {
  const int64_t k = t.dim(1);
  return static_cast<int>(std::max_element(t.data() + row * k, t.data() + (row + 1) * k) - (t.data() + row * k));
}

struct Agreement {
  double top1 = 0;           // share of rows with the same argmax
  double mean_abs = 0;       // mean |a - b| over all logits
  double max_abs = 0;        // max |a - b|
};

Agreement agreement(const Tensor& a, const Tensor& b) {
  Agreement r;
  const int64_t n = a.dim(0);
  for (int64_t i = 0; i < n; ++i) r.top1 += argmax(a, i) == argmax(b, i);
  r.top1 /= n;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - b[i]);
    r.mean_abs += d;
    r.max_abs = std::max(r.max_abs, d);
  }
  r.mean_abs /= a.numel();
  return r;
}

double accuracy(const Tensor& logits, const std::vector<int>& labels) {
  double c = 0;
  for (size_t i = 0; i < labels.size(); ++i) c += argmax(logits, static_cast<int64_t>(i)) == labels[i];
  return c / labels.size();
}

// Serializes a quantized model, lets `edit` corrupt its parts, and parses it back.
Result<QuantizedModel> reparse(const QuantizedModel& m, const std::function<void(ModelContents&)>& edit) {
  auto c = quantized_model_to_contents(m);
  REQUIRE(c.ok());
  edit(*c);
  auto bytes = serialize_model_contents(*c);
  REQUIRE_MESSAGE(bytes.ok(), bytes.status().message());
  auto parsed = parse_model_contents(*bytes);
  if (!parsed.ok()) return parsed.status();
  return quantized_model_from_contents(std::move(*parsed));
}

void expect_rejected(const QuantizedModel& m, const std::function<void(ModelContents&)>& edit,
                     const std::string& fragment) {
  auto r = reparse(m, edit);
  REQUIRE_MESSAGE(!r.ok(), "expected an error containing: " << fragment);
  INFO("message: " << r.status().message());
  CHECK(r.status().message().find(fragment) != std::string::npos);
}

}  // namespace

TEST_CASE("quant: every 8-bit pixel value lies exactly on the image input grid") {
  const ActivationGrid g = image_input_grid();
  for (int k = 0; k <= 255; ++k) {
    const float x = static_cast<float>(k) / 255.0f;
    CHECK(g.quantize(x) == k - 128);
    CHECK(g.quantize(g.dequantize(k - 128)) == k - 128);
  }
  CHECK(g.quantize(-1.0f) == -128);
  CHECK(g.quantize(2.0f) == 127);
  CHECK(g.quantize(std::nanf("")) == -128);
}

TEST_CASE("quant: activation grids represent zero exactly and cover the range") {
  for (int bits : {8, 4, 2, 1}) {
    for (const auto& range : {std::pair{-1.5f, 3.0f}, std::pair{0.0f, 6.0f}, std::pair{0.2f, 0.9f},
                              std::pair{-4.0f, -1.0f}, std::pair{0.0f, 0.0f}}) {
      const float lo = range.first, hi = range.second;  // named copies: CAPTURE cannot take bindings
      const ActivationGrid g = grid_for_range(lo, hi, bits);
      CAPTURE(bits);
      CAPTURE(lo);
      CAPTURE(hi);
      CHECK(g.qmin == -(1 << (bits - 1)));
      CHECK(g.qmax == (1 << (bits - 1)) - 1);
      CHECK(g.scale > 0);
      CHECK(g.zero_point >= g.qmin);
      CHECK(g.zero_point <= g.qmax);
      CHECK(g.dequantize(g.quantize(0.0f)) == 0.0f);
      CHECK(g.dequantize(g.qmax) >= std::max(hi, 0.0f) - g.scale * 0.51f);
      CHECK(g.dequantize(g.qmin) <= std::min(lo, 0.0f) + g.scale * 0.51f);
    }
  }
  // ReLU outputs at 1 bit: codes {-1, 0} stand for {0, scale}.
  const ActivationGrid one = grid_for_range(0.0f, 2.0f, 1);
  CHECK(one.zero_point == -1);
  CHECK(one.dequantize(0) == doctest::Approx(2.0f));
}

TEST_CASE("quant: per-channel weight quantizers respect each scheme") {
  Rng rng(11);
  Tensor w({6, 3, 3, 5});
  for (int64_t i = 0; i < w.numel(); ++i) w[i] = rng.uniform(-1.0f, 1.0f) * (1 + i / 45);  // channels differ in scale
  for (int64_t i = 0; i < 45; ++i) w[45 * 2 + i] = 0.0f;  // an all-zero channel
  for (WeightScheme s : {WeightScheme::kInt8, WeightScheme::kInt4, WeightScheme::kTernary, WeightScheme::kBinary}) {
    const std::string scheme = weight_scheme_name(s);
    CAPTURE(scheme);
    const QuantizedWeights q = quantize_weights(w, 0, s);
    REQUIRE(q.scale.size() == 6);
    for (float sc : q.scale) CHECK(sc > 0);
    const int32_t lim = weight_qmax(s);
    for (int64_t i = 0; i < q.codes.numel(); ++i) {
      CHECK(std::abs(q.codes[i]) <= lim);
      if (s == WeightScheme::kBinary) CHECK(q.codes[i] != 0);
    }
    const Tensor back = dequantize_weights(q, 0);
    if (s == WeightScheme::kInt8 || s == WeightScheme::kInt4) {
      // Max-abs scaling: every weight within half a step of its code.
      for (int64_t i = 0; i < w.numel(); ++i) CHECK(std::fabs(back[i] - w[i]) <= q.scale[i / 45] * 0.5001f);
      for (int64_t i = 0; i < 45; ++i) CHECK(back[45 * 2 + i] == 0.0f);
    }
  }
  // Depthwise weights [1, kh, kw, C] carry the channel last.
  Tensor dw({1, 3, 3, 4});
  for (int64_t i = 0; i < dw.numel(); ++i) dw[i] = static_cast<float>((i % 4) + 1) * (i % 3 == 0 ? -1.0f : 1.0f);
  const QuantizedWeights dq = quantize_weights(dw, 3, WeightScheme::kInt8);
  for (int c = 0; c < 4; ++c) CHECK(dq.scale[c] == doctest::Approx((c + 1) / 127.0f));
}

TEST_CASE("quant: stochastic ternary codes are unbiased, deterministic ones threshold") {
  Tensor w({1, 1, 1, 4000});
  Rng init(3);
  for (int64_t i = 0; i < w.numel(); ++i) w[i] = init.uniform(-1.0f, 1.0f);
  // Channel axis 3 puts all 4000 weights in separate channels; use axis 0 for one channel.
  const QuantizedWeights det = quantize_weights(w, 0, WeightScheme::kTernary);
  REQUIRE(det.scale.size() == 1);
  int zeros = 0;
  for (int64_t i = 0; i < w.numel(); ++i) {
    // TWN threshold 0.7 mean|w| = 0.35 for U(-1, 1).
    if (std::fabs(w[i]) < 0.3f) CHECK(det.codes[i] == 0);
    if (std::fabs(w[i]) > 0.4f) CHECK(det.codes[i] == (w[i] > 0 ? 1 : -1));
    zeros += det.codes[i] == 0;
  }
  CHECK(zeros > 1200);
  CHECK(zeros < 1600);
  Rng rng(9);
  double mean_code_times_scale = 0, mean_w = 0;
  int n = 0;
  for (int rep = 0; rep < 50; ++rep) {
    const QuantizedWeights st = quantize_weights_stochastic(w, 0, WeightScheme::kTernary, rng);
    for (int64_t i = 0; i < w.numel(); ++i)
      if (w[i] > 0.1f && w[i] < 0.5f) {  // inside the scale, where rounding is unbiased
        mean_code_times_scale += st.codes[i] * st.scale[0];
        mean_w += w[i];
        ++n;
      }
  }
  CHECK(mean_code_times_scale / n == doctest::Approx(mean_w / n).epsilon(0.03));
}

TEST_CASE("quant: int8 PTQ of a trained CNN; fake-quant agrees with int8-ref") {
  const Graph& g = trained_tiny_cnn();
  const QuantizedModel m = quantize(g);
  REQUIRE(validate_quantized_model(m).ok());
  CHECK(m.nodes[0].output == image_input_grid());
  const Dataset& d = test_set();
  const Tensor f = predict(EngineKind::kFloat, m, d.inputs);
  const Tensor fq = predict(EngineKind::kFakeQuant, m, d.inputs);
  const Tensor q = predict(EngineKind::kInt8Ref, m, d.inputs);
  const double float_acc = accuracy(f, d.labels);
  const double int8_acc = accuracy(q, d.labels);
  MESSAGE("float acc " << float_acc << ", int8 acc " << int8_acc);
  CHECK(float_acc > 0.9);
  CHECK(int8_acc > float_acc - 0.03);
  const Agreement a = agreement(fq, q);
  const float lsb = m.nodes[m.graph.output_node()].output.scale;
  MESSAGE("fakequant vs int8-ref: top-1 " << a.top1 << ", mean |dlogit| " << a.mean_abs << " (" << a.mean_abs / lsb
                                          << " LSB), max " << a.max_abs / lsb << " LSB");
  CHECK(a.top1 >= 0.995);
  CHECK(a.mean_abs < 0.5 * lsb);
  // Same grid: int8 logits sit exactly on the output grid.
  for (int64_t i = 0; i < q.numel(); ++i) {
    const float codes = q[i] / lsb;
    CHECK(std::fabs(codes - std::round(codes)) < 1e-3f);
  }
}

TEST_CASE("quant: percentile calibration and single rounding also agree") {
  QuantizeOptions o;
  o.calibration.method = CalibrationMethod::kPercentile;
  o.calibration.percentile = 99.9;
  o.rounding = RoundingMode::kSingle;
  const QuantizedModel m = quantize(trained_tiny_cnn(), o);
  const QuantizedModel mm = quantize(trained_tiny_cnn());
  // Clipping outliers narrows at least one hidden grid.
  bool narrower = false;
  for (int i = 1; i < m.graph.num_nodes(); ++i) narrower = narrower || m.nodes[i].output.scale < mm.nodes[i].output.scale;
  CHECK(narrower);
  const Tensor fq = predict(EngineKind::kFakeQuant, m, test_set().inputs);
  const Tensor q = predict(EngineKind::kInt8Ref, m, test_set().inputs);
  CHECK(agreement(fq, q).top1 >= 0.995);
}

TEST_CASE("quant: low-bit weights and activations run exactly in int8 containers") {
  const Dataset& d = test_set();
  // The fake-quant mirror rounds once in float where TFLite's integer requantization
  // rounds twice (SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT; MEAN
  // also before its division), so values within ~1e-4 LSB of a tie can land one code
  // apart. At 8 bits that is invisible in the top-1; on a 2-bit grid one code is a third
  // of the range, so such flips move the logits far more often.
  struct Variant {
    WeightScheme w;
    int act_bits;
    double min_agreement;  // fake-quant vs int8 top-1
    double min_accuracy;   // int8 accuracy after PTQ alone, vs chance 0.25 (ternary and binary need QAT)
  };
  for (Variant v : {Variant{WeightScheme::kInt4, 8, 0.99, 0.5}, Variant{WeightScheme::kTernary, 8, 0.98, 0.0},
                    Variant{WeightScheme::kBinary, 8, 0.98, 0.0}, Variant{WeightScheme::kInt8, 4, 0.97, 0.8},
                    Variant{WeightScheme::kInt4, 2, 0.7, 0.4}}) {
    const std::string scheme = weight_scheme_name(v.w);
    CAPTURE(scheme);
    CAPTURE(v.act_bits);
    QuantizeOptions o;
    o.weights = v.w;
    o.activation_bits = v.act_bits;
    const QuantizedModel m = quantize(trained_tiny_cnn(), o);
    REQUIRE(validate_quantized_model(m).ok());
    // Hidden ops clamp into the low-bit code range; the logits stay 8-bit.
    auto program = compile_int8_program(m);
    REQUIRE(program.ok());
    for (const Int8Op& op : program->ops) {
      const int bits = op.node == m.graph.output_node() ? 8 : v.act_bits;
      CHECK(op.clamp_min >= -(1 << (bits - 1)));
      CHECK(op.clamp_max <= (1 << (bits - 1)) - 1);
    }
    const Tensor fq = predict(EngineKind::kFakeQuant, m, d.inputs);
    const Tensor q = predict(EngineKind::kInt8Ref, m, d.inputs);
    const Agreement a = agreement(fq, q);
    MESSAGE(std::string(weight_scheme_name(v.w)) << " w / " << v.act_bits << "-bit a: int8 acc " << accuracy(q, d.labels)
                                    << ", fakequant agreement " << a.top1);
    CHECK(a.top1 >= v.min_agreement);
    CHECK(accuracy(q, d.labels) >= v.min_accuracy);
  }
}

TEST_CASE("quant: footprint counts packed bits") {
  QuantizeOptions o;
  const QuantizedModel m8 = quantize(trained_tiny_cnn(), o);
  o.weights = WeightScheme::kTernary;
  const QuantizedModel m2 = quantize(trained_tiny_cnn(), o);
  const Footprint f8 = footprint(m8), f2 = footprint(m2);
  CHECK(f8.weight_count == f2.weight_count);
  CHECK(f8.weight_bytes == f8.weight_count);
  CHECK(f2.weight_bytes < f8.weight_bytes / 4 + 8);
  CHECK(f8.float_bytes > 4 * f8.weight_count);
}

TEST_CASE("quant: a quantized model file round-trips and runs bit-identically") {
  const QuantizedModel m = quantize(trained_tiny_cnn());
  auto c = quantized_model_to_contents(m, {{"note", "card"}});
  REQUIRE(c.ok());
  auto bytes = serialize_model_contents(*c);
  REQUIRE(bytes.ok());
  auto parsed = parse_model_contents(*bytes);
  REQUIRE_MESSAGE(parsed.ok(), parsed.status().message());
  CHECK(parsed->extra["note"] == "card");
  auto back = quantized_model_from_contents(std::move(*parsed));
  REQUIRE_MESSAGE(back.ok(), back.status().message());
  const Tensor& x = test_set().inputs;
  const Tensor a = predict(EngineKind::kInt8Ref, m, x);
  const Tensor b = predict(EngineKind::kInt8Ref, *back, x);
  CHECK(a.storage() == b.storage());
  // Serializing the reloaded model gives the same bytes.
  auto again = quantized_model_to_contents(*back, {{"note", "card"}});
  REQUIRE(again.ok());
  CHECK(*serialize_model_contents(*again) == *bytes);
  // The float graph inside a quantized file still loads as a plain model.
  CHECK(parse_model(*bytes).ok());
}

TEST_CASE("quant: every malformed quantization parameter is rejected with a clear error") {
  const QuantizedModel m = quantize(trained_tiny_cnn());
  const std::string conv = m.graph.node(1).name;  // the first conv
  REQUIRE(std::string(m.graph.node(1).layer->type()) == "conv2d");
  const std::string dense = m.graph.node(m.graph.output_node()).name;
  auto node_q = [&](const std::string& name, const char* key, json value) {
    return [=](ModelContents& c) { c.node_quantization[name][key] = value; };
  };
  expect_rejected(m, node_q(conv, "scale", 0.0), "has scale 0; a scale must be positive and finite");
  expect_rejected(m, node_q(conv, "scale", -0.5), "has scale -0.5; a scale must be positive and finite");
  expect_rejected(m, node_q(conv, "zero_point", 128), "zero point 128, outside [-128, 127]");
  expect_rejected(m, node_q(conv, "zero_point", -129), "zero point -129, outside [-128, 127]");
  expect_rejected(m, [](ModelContents& c) { c.quantization["input"]["scale"] = -1.0; }, "input grid has scale -1");
  expect_rejected(m, [](ModelContents& c) { c.quantization["input"]["zero_point"] = 300; },
                  "zero point 300, outside [-128, 127]");
  // A weight scale so large that s_in * s_w / s_out needs a shift above 30. (One so small
  // that it needs a shift below -31 is valid: TFLite makes its multiplier 0.)
  expect_rejected(m, [&](ModelContents& c) { c.aux_tensors[conv + ".weight_scale"].f32[2] = 1e30f; },
                  "channel 2: requantization scale");
  expect_rejected(m, [&](ModelContents& c) { c.aux_tensors[conv + ".weight_scale"].f32[2] = 1e30f; },
                  "outside [-31, 30]");
  expect_rejected(m, [&](ModelContents& c) { c.aux_tensors[conv + ".weight_scale"].f32[0] = 0.0f; },
                  "channel 0 has weight scale 0");
  expect_rejected(m, [&](ModelContents& c) { c.aux_tensors[conv + ".weight_scale"].f32[1] = -2.0f; },
                  "channel 1 has weight scale -2");
  expect_rejected(m,
                  [&](ModelContents& c) {
                    AuxTensor& s = c.aux_tensors[conv + ".weight_scale"];
                    s.f32.pop_back();
                    s.shape[0]--;
                  },
                  "per-channel weight scales but");
  expect_rejected(m,
                  [&](ModelContents& c) {
                    AuxTensor& b = c.aux_tensors[dense + ".bias_q"];
                    b.i32.push_back(0);
                    b.shape[0]++;
                  },
                  "int32 biases but");
  expect_rejected(m, [&](ModelContents& c) { c.aux_tensors[conv + ".weight_q"].i8[0] = -128; },
                  "weight value -128 at index 0 is outside the int8 range");
  expect_rejected(m, [&](ModelContents& c) { c.aux_tensors.erase(conv + ".bias_q"); }, "missing quantization tensor");
  expect_rejected(m, [&](ModelContents& c) { c.aux_tensors[conv + ".extra_q"] = {TensorDType::kI8, {1}, {}, {}, {1}}; },
                  "unknown quantization tensor");
  expect_rejected(m,
                  [&](ModelContents& c) {
                    AuxTensor& w = c.aux_tensors[conv + ".weight_q"];
                    w.dtype = TensorDType::kI32;
                    w.i32.assign(w.i8.begin(), w.i8.end());
                    w.i8.clear();
                  },
                  "must be I8");
  expect_rejected(m, [](ModelContents& c) { c.quantization["weights"] = "int3"; }, "unknown weight scheme 'int3'");
  expect_rejected(m, [](ModelContents& c) { c.quantization["activation_bits"] = 9; }, "outside [1, 8]");
  expect_rejected(m, [](ModelContents& c) { c.quantization["rounding"] = "up"; }, "rounding must be");
  expect_rejected(m, [](ModelContents& c) { c.quantization["scheme"] = "int8"; }, "unknown field 'scheme'");
  expect_rejected(m, [&](ModelContents& c) { c.node_quantization.erase(conv); }, "has no quantization object");
  expect_rejected(m, [&](ModelContents& c) { c.node_quantization[conv]["bits"] = 8; }, "unknown field 'bits'");
  // A pool must keep its input's grid (TFLite requires it).
  std::string pool;
  for (int i = 1; i < m.graph.num_nodes(); ++i)
    if (std::string(m.graph.node(i).layer->type()) == "max_pool2d") pool = m.graph.node(i).name;
  REQUIRE(!pool.empty());
  expect_rejected(m, node_q(pool, "scale", 0.123), "must keep its input's grid");
  // Ternary files may not hold codes beyond +-1; binary ones no zeros.
  QuantizeOptions o;
  o.weights = WeightScheme::kBinary;
  const QuantizedModel b = quantize(trained_tiny_cnn(), o);
  expect_rejected(b, [&](ModelContents& c) { c.aux_tensors[conv + ".weight_q"].i8[3] = 0; },
                  "outside the binary range");
  expect_rejected(b, [&](ModelContents& c) { c.aux_tensors[conv + ".weight_q"].i8[3] = 2; },
                  "outside the binary range");
  // A float model is not a quantized one.
  auto plain = parse_model_contents(*serialize_model(trained_tiny_cnn()));
  REQUIRE(plain.ok());
  auto r = quantized_model_from_contents(std::move(*plain));
  REQUIRE(!r.ok());
  CHECK(r.status().message().find("run `slingshot quantize` first") != std::string::npos);
}

TEST_CASE("quant: unfolded batch norm and softmax are refused by PTQ") {
  Graph g({4});
  DenseConfig dc{4, 3, true};
  REQUIRE(g.append("fc", std::make_unique<Dense>(dc)).ok());
  REQUIRE(g.append("sm", make_layer("softmax", json::object()).value()).ok());
  Tensor x({8, 4}, 0.5f);
  QuantizeOptions o;
  o.image_input = false;
  auto r = quantize_post_training(g, x, o);
  REQUIRE(!r.ok());
  CHECK(r.status().message().find("softmax") != std::string::npos);
}

TEST_CASE("quant: fake_quant rounds onto its grid and passes gradients straight through inside it") {
  FakeQuant fq({0.5, -2, -8, 7});  // real range [-3, 4.5]
  TensorD x({1, 6});
  const double xs[] = {-10.0, -2.9, 0.26, 1.74, 4.4, 9.0};
  for (int i = 0; i < 6; ++i) x[i] = xs[i];
  TensorD y, dx;
  std::vector<TensorD> cache;
  std::vector<double> scratch;
  const TensorD* ins[] = {&x};
  ForwardArgs<double> fa{ins, &y, &cache, &scratch, Mode::kInference, KernelPath::kRef};
  REQUIRE(fq.forward(fa).ok());
  const double expect[] = {-3.0, -3.0, 0.5, 1.5, 4.5, 4.5};
  for (int i = 0; i < 6; ++i) CHECK(y[i] == expect[i]);
  TensorD g({1, 6}, 1.0);
  TensorD* grads[] = {&dx};
  BackwardArgs<double> ba{ins, &y, &g, grads, {}, &cache, &scratch, KernelPath::kRef};
  REQUIRE(fq.backward(ba).ok());
  const double expect_grad[] = {0, 1, 1, 1, 1, 0};
  for (int i = 0; i < 6; ++i) CHECK(dx[i] == expect_grad[i]);
}

TEST_CASE("quant: ResNet-8 (residual adds, fused ReLUs, 1x1 shortcuts) agrees across engines") {
  Graph g = build_resnet8(10, {32, 32, 3}).value();
  init_params(g, 21);
  Rng rng(4);
  Tensor x({24, 32, 32, 3});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(rng.below(256)) / 255.0f;
  // Give batch norm non-trivial statistics so folding matters.
  for (int i = 1; i < g.num_nodes(); ++i)
    if (std::string(g.node(i).layer->type()) == "batch_norm")
      for (Param& p : g.node(i).layer->params())
        for (int64_t k = 0; k < p.value.numel(); ++k)
          p.value[k] = p.name == "running_var" ? rng.uniform(0.5f, 2.0f) : rng.uniform(-0.3f, 0.3f) + (p.name == "gamma");
  auto m = quantize_post_training(g, x, {});
  REQUIRE_MESSAGE(m.ok(), m.status().message());
  auto program = compile_int8_program(*m);
  REQUIRE(program.ok());
  int adds = 0, fused = 0, relus = 0;
  for (const Int8Op& op : program->ops) adds += op.kind == Int8OpKind::kAdd;
  for (int i = 1; i < m->graph.num_nodes(); ++i) {
    relus += std::string(m->graph.node(i).layer->type()) == "relu";
    fused += is_fused_activation(m->graph, i);
  }
  CHECK(adds == 3);
  CHECK(fused == relus);  // every ReLU follows a conv or an add it alone feeds
  CHECK(relus == 7);
  CHECK(program->ops.size() == static_cast<size_t>(m->graph.num_nodes() - 1 - relus));  // fused ReLUs are no ops
  const Tensor f = predict(EngineKind::kFloat, *m, x);
  const Tensor fq = predict(EngineKind::kFakeQuant, *m, x);
  const Tensor q = predict(EngineKind::kInt8Ref, *m, x);
  const float lsb = m->nodes[m->graph.output_node()].output.scale;
  const Agreement a = agreement(fq, q);
  MESSAGE("ResNet-8 fakequant vs int8-ref: mean |dlogit| " << a.mean_abs / lsb << " LSB, max " << a.max_abs / lsb
                                                           << " LSB; float vs int8 top-1 " << agreement(f, q).top1);
  CHECK(a.mean_abs < 1.0 * lsb);
  CHECK(agreement(f, q).top1 > 0.5);
}

TEST_CASE("engines: names parse and bad requests are clear errors") {
  CHECK(*parse_engine("int8-ref") == EngineKind::kInt8Ref);
  CHECK(*parse_engine("fakequant") == EngineKind::kFakeQuant);
  auto bad = parse_engine("int9");
  REQUIRE(!bad.ok());
  CHECK(bad.status().message().find("unknown engine 'int9' (available: float, fakequant, int8-ref") !=
        std::string::npos);
  QuantizedModel float_only;
  float_only.graph = build_tiny_cnn(4, {16, 16, 3}).value();
  auto e = make_engine(EngineKind::kInt8Ref, float_only);
  REQUIRE(!e.ok());
  CHECK(e.status().message().find("needs a quantized model") != std::string::npos);
  const QuantizedModel m = quantize(trained_tiny_cnn());
  auto engine = make_engine(EngineKind::kInt8Ref, m);
  REQUIRE(engine.ok());
  Tensor wrong({2, 8, 8, 3});
  Tensor logits;
  const Status s = (*engine)->predict(wrong, logits);
  REQUIRE(!s.ok());
  CHECK(s.message().find("does not match the model input") != std::string::npos);
}

TEST_CASE("quant: QAT weights survive BN folding: PTQ recovers the same codes") {
  for (WeightScheme s : {WeightScheme::kTernary, WeightScheme::kBinary, WeightScheme::kInt4}) {
    const std::string scheme = weight_scheme_name(s);
    CAPTURE(scheme);
    Graph g = clone_graph(trained_tiny_cnn()).value();
    quantize_weights_in_place(g, s);
    QuantizeOptions o;
    o.weights = s;
    const QuantizedModel m = quantize(g, o);
    // The folded float weights are exactly representable: codes x scale reproduce them.
    for (int i = 1; i < m.graph.num_nodes(); ++i) {
      const Layer& layer = *m.graph.node(i).layer;
      if (!is_weighted_type(layer.type())) continue;
      const Tensor& w = layer.find_param("weight")->value;
      const Tensor back = dequantize_weights({m.nodes[i].weight_scale, m.nodes[i].weight}, weight_channel_axis(layer));
      double worst = 0;
      for (int64_t k = 0; k < w.numel(); ++k)
        worst = std::max(worst, std::fabs(static_cast<double>(back[k]) - w[k]) / (std::fabs(w[k]) + 1e-12));
      CHECK(worst < 1e-5);
    }
  }
}

TEST_CASE("quant: a QAT model's file stores its weights once, as codes") {
  Graph g = clone_graph(trained_tiny_cnn()).value();
  quantize_weights_in_place(g, WeightScheme::kTernary);
  QuantizeOptions o;
  o.weights = WeightScheme::kTernary;
  QuantizedModel m = quantize(g, o);
  const Tensor before = predict(EngineKind::kInt8Ref, m, test_set().inputs);
  const Tensor float_before = predict(EngineKind::kFloat, m, test_set().inputs);
  auto full = serialize_model_contents(quantized_model_to_contents(m).value());
  REQUIRE(adopt_code_weights_if_exact(m));
  auto compact = serialize_model_contents(quantized_model_to_contents(m).value());
  REQUIRE(full.ok());
  REQUIRE(compact.ok());
  CHECK(compact->size() < full->size() * 6 / 10);
  // The integer engines are unchanged; the float engine moves by float rounding only.
  CHECK(predict(EngineKind::kInt8Ref, m, test_set().inputs).storage() == before.storage());
  const Tensor float_after = predict(EngineKind::kFloat, m, test_set().inputs);
  for (int64_t e = 0; e < float_after.numel(); ++e) CHECK(float_after[e] == doctest::Approx(float_before[e]).epsilon(1e-4));

  auto parsed = parse_model_contents(*compact);
  REQUIRE(parsed.ok());
  CHECK(parsed->weights_from_codes.size() == 3);
  auto back = quantized_model_from_contents(std::move(*parsed));
  REQUIRE_MESSAGE(back.ok(), back.status().message());
  CHECK(back->float_weights_from_codes);
  for (int i = 1; i < m.graph.num_nodes(); ++i)
    for (size_t k = 0; k < m.graph.node(i).layer->params().size(); ++k)
      CHECK(back->graph.node(i).layer->params()[k].value.storage() == m.graph.node(i).layer->params()[k].value.storage());
  // Re-saving gives the same bytes; the float-graph loader refuses codes-only weights.
  CHECK(serialize_model_contents(quantized_model_to_contents(*back).value()).value() == *compact);
  auto float_view = parse_model(*compact);
  REQUIRE(!float_view.ok());
  CHECK(float_view.status().message().find("stores its weights only as integer codes") != std::string::npos);
  // A PTQ model of float weights keeps them.
  QuantizedModel ptq = quantize(trained_tiny_cnn());
  CHECK(!adopt_code_weights_if_exact(ptq));
  CHECK(!ptq.float_weights_from_codes);
  // Mixed files are refused: one node keeps its float weight.
  ModelContents mixed = quantized_model_to_contents(m).value();
  mixed.weights_from_codes.erase(mixed.weights_from_codes.begin());
  auto mixed_parsed = parse_model_contents(serialize_model_contents(mixed).value());
  REQUIRE(mixed_parsed.ok());
  auto mixed_model = quantized_model_from_contents(std::move(*mixed_parsed));
  REQUIRE(!mixed_model.ok());
  CHECK(mixed_model.status().message().find("stores every weight as codes or none") != std::string::npos);
}

TEST_CASE("train: quantization-aware training runs on quantized weights and keeps the masters") {
  Dataset train_set = *make_shapes_dataset(600, 16, 1);
  Graph g = build_tiny_cnn(4, {16, 16, 3}).value();
  init_params(g, 3);
  TrainConfig cfg;
  cfg.epochs = 1;
  cfg.seed = 2;
  cfg.qat_weights = WeightScheme::kTernary;
  REQUIRE(train(g, train_set, nullptr, cfg).ok());
  // After training the graph holds float masters (not ternary values)...
  const Tensor& w = g.node(1).layer->find_param("weight")->value;
  std::set<float> distinct(w.data(), w.data() + w.numel());
  CHECK(distinct.size() > 20);
  // ...and quantize_weights_in_place leaves at most three values per output channel.
  quantize_weights_in_place(g, WeightScheme::kTernary);
  const int64_t per_channel = w.numel() / w.dim(0);
  for (int64_t c = 0; c < w.dim(0); ++c) {
    std::set<float> values(w.data() + c * per_channel, w.data() + (c + 1) * per_channel);
    CHECK(values.size() <= 3);
  }
}

TEST_CASE("engines: int8-simd gives the int8-ref logits bit for bit, at every batch size") {
  // The trained CNN at 8-bit and at 4-bit activations, then a ResNet-8 with random weights.
  std::vector<QuantizedModel> models;
  models.push_back(quantize(trained_tiny_cnn()));
  QuantizeOptions low;
  low.weights = WeightScheme::kTernary;
  low.activation_bits = 4;
  models.push_back(quantize(trained_tiny_cnn(), low));
  Graph r8 = build_resnet8(10, {32, 32, 3}).value();
  init_params(r8, 5);
  Rng rng(8);
  Tensor images({9, 32, 32, 3});
  for (int64_t i = 0; i < images.numel(); ++i) images[i] = static_cast<float>(rng.below(256)) / 255.0f;
  models.push_back(quantize_post_training(r8, images, {}).value());
  for (const QuantizedModel& m : models) {
    const Tensor& x = m.graph.input_shape()[0] == 32 ? images : test_set().inputs;
    auto ref = make_engine(EngineKind::kInt8Ref, m);
    auto simd = make_engine(EngineKind::kInt8Simd, m);
    REQUIRE(ref.ok());
    REQUIRE(simd.ok());
    for (int64_t batch : {int64_t{1}, int64_t{7}, x.dim(0)}) {
      Shape s = x.shape();
      s[0] = batch;
      Tensor xb(s);
      std::copy(x.data(), x.data() + xb.numel(), xb.data());
      Tensor a, b;
      REQUIRE((*ref)->predict(xb, a).ok());
      REQUIRE((*simd)->predict(xb, b).ok());
      CHECK(a.storage() == b.storage());
    }
  }
}
