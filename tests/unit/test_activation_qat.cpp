// Quantization-aware training of activations: the activation_quant layer (batch-range
// grid in training, moving-average grid in inference, straight-through gradient), where
// insert_activation_quant puts it, and post-training quantization adopting the trained
// grids so the integer engine runs what the network was trained on.
#include <doctest/doctest.h>

#include <limits>
#include <set>
#include <string>

#include "data/synthetic_shapes.h"
#include "engine/engine.h"
#include "model/builders.h"
#include "model/layer_registry.h"
#include "model/layers/activation_quant.h"
#include "quant/activation_qat.h"
#include "quant/post_training.h"
#include "train/trainer.h"

using namespace slingshot;

namespace {

bool contains(const Status& s, const std::string& text) { return s.message().find(text) != std::string::npos; }

struct Pass {
  Tensor out;
  std::vector<Tensor> cache;
};

Pass forward(const ActivationQuant& aq, const Tensor& x, Mode mode) {
  Pass p;
  std::vector<float> scratch;
  const Tensor* in[] = {&x};
  REQUIRE(aq.forward(ForwardArgs<float>{in, &p.out, &p.cache, &scratch, mode, KernelPath::kRef}).ok());
  return p;
}

Tensor ramp(int64_t n, float lo, float hi) {
  Tensor x({1, n});
  for (int64_t i = 0; i < n; ++i) x[i] = lo + (hi - lo) * static_cast<float>(i) / static_cast<float>(n - 1);
  return x;
}

Tensor top1(const Tensor& logits) {
  Tensor t({logits.dim(0)});
  for (int64_t r = 0; r < logits.dim(0); ++r) {
    int best = 0;
    for (int64_t k = 1; k < logits.dim(1); ++k)
      if (logits[r * logits.dim(1) + k] > logits[r * logits.dim(1) + best]) best = static_cast<int>(k);
    t[r] = static_cast<float>(best);
  }
  return t;
}

double accuracy(const Tensor& predicted, const std::vector<int>& labels) {
  int64_t correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) correct += static_cast<int>(predicted[static_cast<int64_t>(i)]) == labels[i];
  return static_cast<double>(correct) / static_cast<double>(labels.size());
}

}  // namespace

TEST_CASE("activation_quant: batch grid in training, moving average in inference, identity before any range") {
  ActivationQuant aq(3);
  const Tensor x = ramp(101, -1.0f, 3.0f);
  // Untrained: inference passes values through and the gradient is the identity.
  CHECK(!aq.has_range());
  CHECK(forward(aq, x, Mode::kInference).out.storage() == x.storage());

  // Training quantizes onto the 3-bit grid of the batch's own range: 8 levels exactly.
  Pass train = forward(aq, x, Mode::kTrain);
  const ActivationGrid g = grid_for_range(-1.0f, 3.0f, 3);
  std::set<float> levels(train.out.data(), train.out.data() + train.out.numel());
  CHECK(levels.size() == 8);
  for (int64_t i = 0; i < x.numel(); ++i) CHECK(train.out[i] == g.dequantize(g.quantize(x[i])));

  // The first update adopts the batch range, later ones average with the momentum.
  aq.update_running_stats(train.cache, 0.9f);
  CHECK(aq.range_min() == -1.0f);
  CHECK(aq.range_max() == 3.0f);
  Pass second = forward(aq, ramp(11, 0.0f, 1.0f), Mode::kTrain);  // its range widens to include 0
  aq.update_running_stats(second.cache, 0.9f);
  CHECK(aq.range_min() == doctest::Approx(0.9f * -1.0f));
  CHECK(aq.range_max() == doctest::Approx(0.9f * 3.0f + 0.1f * 1.0f));
  // An inference pass records nothing.
  Pass inference = forward(aq, ramp(11, -9.0f, 9.0f), Mode::kInference);
  aq.update_running_stats(inference.cache, 0.9f);
  CHECK(aq.range_max() == doctest::Approx(2.8f));

  // Inference uses the tracked range: values beyond it clamp, and their gradient is zero.
  const ActivationGrid tracked = grid_for_range(aq.range_min(), aq.range_max(), 3);
  const Tensor wide = ramp(41, -4.0f, 6.0f);
  Pass p = forward(aq, wide, Mode::kInference);
  Tensor ones(wide.shape(), 1.0f), dx;
  std::vector<float> scratch;
  const Tensor* in[] = {&wide};
  Tensor* grad_in[] = {&dx};
  REQUIRE(aq.backward(BackwardArgs<float>{in, &p.out, &ones, grad_in, {}, &p.cache, &scratch, KernelPath::kRef}).ok());
  const float lo = tracked.dequantize(tracked.qmin), hi = tracked.dequantize(tracked.qmax);
  int passed = 0;
  for (int64_t i = 0; i < wide.numel(); ++i) {
    CHECK(p.out[i] == tracked.dequantize(tracked.quantize(wide[i])));
    CHECK(dx[i] == ((wide[i] >= lo && wide[i] <= hi) ? 1.0f : 0.0f));
    passed += dx[i] == 1.0f;
  }
  CHECK(passed > 0);
  CHECK(passed < wide.numel());
}

TEST_CASE("activation_quant: a non-finite training activation is an error, not a NaN range") {
  ActivationQuant aq(4);
  Tensor x = ramp(5, 0.0f, 1.0f);
  x[2] = std::numeric_limits<float>::quiet_NaN();
  Tensor out;
  std::vector<Tensor> cache;
  std::vector<float> scratch;
  const Tensor* in[] = {&x};
  const Status s = aq.forward(ForwardArgs<float>{in, &out, &cache, &scratch, Mode::kTrain, KernelPath::kRef});
  REQUIRE(!s.ok());
  CHECK(contains(s, "non-finite"));
}

TEST_CASE("insert_activation_quant: one quantizer per deployed integer grid of ResNet-8") {
  Graph r8 = build_resnet8(10, {32, 32, 3}).value();
  auto g = insert_activation_quant(r8, 4);
  REQUIRE(g.ok());
  std::set<std::string> placed;
  for (int i = 1; i < g->num_nodes(); ++i)
    if (std::string(g->node(i).layer->type()) == "activation_quant") placed.insert(g->node(i).name);
  // After folding and fusion the deployed grids are: each conv+bn+relu (at its ReLU), each
  // conv+bn feeding an add (at its BN), each shortcut conv, each add+relu (at its ReLU) and
  // the global average pool; the input and the logits keep 8 bits.
  const std::set<std::string> expected = {
      "relu0/aq",           "stack1_relu1/aq",    "stack1_bn2/aq",   "stack1_relu2/aq",
      "stack2_relu1/aq",    "stack2_bn2/aq",      "stack2_shortcut/aq", "stack2_relu2/aq",
      "stack3_relu1/aq",    "stack3_bn2/aq",      "stack3_shortcut/aq", "stack3_relu2/aq",
      "pool/aq"};
  CHECK(placed == expected);
  CHECK(g->output_node() == g->find("logits"));
  // Inserting twice is refused; bits are range-checked.
  auto again = insert_activation_quant(*g, 4);
  REQUIRE(!again.ok());
  CHECK(contains(again.status(), "already has 4-bit"));
  CHECK(!insert_activation_quant(r8, 0).ok());
  CHECK(!insert_activation_quant(r8, 9).ok());
}

TEST_CASE("activation QAT: PTQ adopts the trained grids, and beats PTQ alone at 2 bits") {
  const Dataset train_set = *make_shapes_dataset(3000, 16, 21);
  const Dataset test_set = *make_shapes_dataset(400, 16, 22);
  Graph base = build_tiny_cnn(4, {16, 16, 3}).value();
  init_params(base, 4);
  TrainConfig cfg;
  cfg.epochs = 6;
  cfg.seed = 6;
  REQUIRE(train(base, train_set, nullptr, cfg).ok());

  // Fine-tune with 2-bit activation QAT. The trainer insists on matching nodes and settings.
  Graph qat = insert_activation_quant(base, 2).value();
  TrainConfig fine = cfg;
  fine.epochs = 2;
  fine.learning_rate = 0.01f;
  auto missing = train(qat, train_set, nullptr, fine);
  REQUIRE(!missing.ok());
  CHECK(contains(missing.status(), "trains no activation QAT"));
  fine.qat_activation_bits = 2;
  Graph plain = clone_graph(base).value();
  auto no_nodes = train(plain, train_set, nullptr, fine);
  REQUIRE(!no_nodes.ok());
  CHECK(contains(no_nodes.status(), "insert_activation_quant"));
  REQUIRE(train(qat, train_set, nullptr, fine).ok());

  QuantizeOptions o;
  o.activation_bits = 8;
  auto mismatch = quantize_post_training(qat, train_set.inputs, o);
  REQUIRE(!mismatch.ok());
  CHECK(contains(mismatch.status(), "trained with 2-bit activations"));
  o.activation_bits = 2;
  auto m = quantize_post_training(qat, train_set.inputs, o);
  REQUIRE_MESSAGE(m.ok(), m.status().message());
  // Every trained range became exactly the grid of the value it followed.
  int adopted = 0;
  for (int i = 1; i < qat.num_nodes(); ++i) {
    if (std::string(qat.node(i).layer->type()) != "activation_quant") continue;
    const auto& aq = static_cast<const ActivationQuant&>(*qat.node(i).layer);
    const std::string owner = qat.node(qat.node(i).inputs[0]).name;
    const int node = m->graph.find(owner);
    REQUIRE(node > 0);
    CHECK(m->nodes[node].output == grid_for_range(aq.range_min(), aq.range_max(), 2));
    ++adopted;
  }
  CHECK(adopted == 3);
  for (int i = 1; i < m->graph.num_nodes(); ++i)
    CHECK(std::string(m->graph.node(i).layer->type()) != "activation_quant");

  // The integer engine follows the QAT network (the float graph with its quantizers)...
  Workspace<float> ws;
  REQUIRE(qat.forward(test_set.inputs, ws, Mode::kInference).ok());
  const Tensor qat_top1 = top1(ws.output());
  auto engine = make_engine(EngineKind::kInt8Ref, *m);
  REQUIRE(engine.ok());
  Tensor logits;
  REQUIRE((*engine)->predict(test_set.inputs, logits).ok());
  const Tensor int_top1 = top1(logits);
  int64_t agree = 0;
  for (int64_t i = 0; i < int_top1.numel(); ++i) agree += int_top1[i] == qat_top1[i];
  CHECK(static_cast<double>(agree) / static_cast<double>(int_top1.numel()) >= 0.97);
  // ...and is clearly more accurate than 2-bit PTQ of the float parent.
  auto ptq = quantize_post_training(base, train_set.inputs, o);
  REQUIRE(ptq.ok());
  auto ptq_engine = make_engine(EngineKind::kInt8Ref, *ptq);
  REQUIRE(ptq_engine.ok());
  Tensor ptq_logits;
  REQUIRE((*ptq_engine)->predict(test_set.inputs, ptq_logits).ok());
  const double qat_acc = accuracy(int_top1, test_set.labels), ptq_acc = accuracy(top1(ptq_logits), test_set.labels);
  CAPTURE(qat_acc);
  CAPTURE(ptq_acc);
  CHECK(qat_acc >= ptq_acc + 0.05);
  CHECK(qat_acc >= 0.8);
}

TEST_CASE("activation QAT: untrained or misplaced quantizers are refused by PTQ") {
  const Dataset data = *make_shapes_dataset(64, 16, 3);
  Graph g = build_tiny_cnn(4, {16, 16, 3}).value();
  init_params(g, 1);
  QuantizeOptions o;
  o.activation_bits = 4;
  Graph untrained = insert_activation_quant(g, 4).value();
  auto r = quantize_post_training(untrained, data.inputs, o);
  REQUIRE(!r.ok());
  CHECK(contains(r.status(), "has no trained range"));

  // A quantizer after a max pool (which has no grid of its own) is an error.
  Graph odd(Shape{16, 16, 3});
  REQUIRE(odd.append("conv", clone_layer(*g.node(1).layer).value()).ok());
  REQUIRE(odd.append("relu", make_layer("relu", nlohmann::json::object()).value()).ok());
  REQUIRE(odd.append("pool", make_layer("max_pool2d", {{"pool", {2, 2}}, {"strides", {2, 2}}, {"padding", "valid"}}).value()).ok());
  auto aq = std::make_unique<ActivationQuant>(4);
  aq->params()[0].value[1] = 1.0f;  // a trained-looking range [0, 1]
  REQUIRE(odd.append("pool/aq", std::move(aq)).ok());
  auto wrong = quantize_post_training(odd, data.inputs, o);
  REQUIRE(!wrong.ok());
  CHECK(contains(wrong.status(), "'pool' (max_pool2d), which has no integer grid of its own"));
}
