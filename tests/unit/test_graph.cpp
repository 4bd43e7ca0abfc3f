// Whole-graph behaviour: ResNet-8 gradients against float64 finite differences, the
// float/SIMD path against the float64 path, batch-norm folding, builders and errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "grad_check.h"
#include "model/builders.h"
#include "model/fold_batch_norm.h"
#include "model/layers/activation.h"
#include "model/layers/conv2d.h"
#include "model/layers/dense.h"
#include "model/layers/shape_ops.h"
#include "model/loss.h"

using namespace slingshot;
using namespace slingshot::testing;

namespace {

// Randomizes batch-norm statistics and biases so no parameter is at a trivial value.
void randomize_non_weights(Graph& g, uint64_t seed) {
  Rng rng(seed);
  for (int i = 1; i < g.num_nodes(); ++i)
    for (Param& p : g.node(i).layer->params()) {
      if (p.name == "gamma" || p.name == "running_var") randomize(p.value, rng, 0.6f, 1.4f);
      if (p.name == "beta" || p.name == "running_mean" || p.name == "bias") randomize(p.value, rng, -0.2f, 0.2f);
    }
}

template <class T>
TensorT<T> random_images(const Shape& shape, uint64_t seed) {
  Rng rng(seed);
  TensorT<T> x(shape);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<T>(rng.uniform());
  return x;
}

struct LossAndGrads {
  double loss;
  Workspace<double> ws;
};

LossAndGrads loss_and_grads(const Graph& g, const TensorD& x, const std::vector<int>& labels, Mode mode) {
  LossAndGrads out;
  REQUIRE(g.forward(x, out.ws, mode, KernelPath::kRef).ok());
  TensorD grad;
  auto loss = softmax_cross_entropy(out.ws.output(), labels, &grad);
  REQUIRE(loss.ok());
  out.loss = *loss;
  REQUIRE(g.backward(grad, out.ws, true, KernelPath::kRef).ok());
  return out;
}

}  // namespace

TEST_CASE("ResNet-8 input and parameter gradients match float64 finite differences") {
  auto built = build_resnet8();
  REQUIRE(built.ok());
  Graph& g = *built;
  init_params(g, 7);
  randomize_non_weights(g, 8);
  // Batch 2 in training mode couples the samples through batch statistics, which is
  // the hardest case for batch-norm backward.
  for (Mode mode : {Mode::kTrain, Mode::kInference}) {
    CAPTURE(static_cast<int>(mode));
    TensorD x = random_images<double>({2, 32, 32, 3}, 9);
    const std::vector<int> labels = {3, 8};
    LossAndGrads ref = loss_and_grads(g, x, labels, mode);
    auto loss = [&]() -> double {
      Workspace<double> ws;
      REQUIRE(g.forward(x, ws, mode, KernelPath::kRef).ok());
      return *softmax_cross_entropy<double>(ws.output(), labels, nullptr);
    };
    const TensorD input_grad = ref.ws.input_grad();
    const auto st = check_tensor_gradient(x, input_grad, sample_indices(x.numel(), 12, 10), loss, 1e-6,
                                          gradient_floor(input_grad));
    INFO("input max rel error ", st.max_rel);
    CHECK(st.max_rel <= 1e-4);

    // One parameter tensor from each kind of layer, including the shortcut conv. The step
    // is 1e-6 relative: a parameter moves thousands of pre-activations at once, and a
    // larger step (1e-3) lets some cross a ReLU kink, which is FD error, not a bug.
    for (const char* node_name : {"conv0", "bn0", "stack2_conv1", "stack3_shortcut", "stack3_bn2", "logits"}) {
      const int idx = g.find(node_name);
      REQUIRE(idx > 0);
      auto& params = g.node(idx).layer->params();
      for (size_t k = 0; k < params.size(); ++k) {
        if (!params[k].trainable) continue;
        const TensorD& analytic = ref.ws.param_grads[idx][k];
        const auto ps = check_param_gradient(params[k].value, analytic,
                                             sample_indices(params[k].value.numel(), 3, idx * 31 + k), loss, 1e-6f,
                                             gradient_floor(analytic));
        INFO(std::string(node_name), ".", params[k].name, " max rel error ", ps.max_rel);
        CHECK(ps.max_rel <= 1e-4);
      }
    }
  }
}

TEST_CASE("float32 SIMD and reference passes agree with the float64 pass on ResNet-8") {
  auto built = build_resnet8();
  REQUIRE(built.ok());
  Graph& g = *built;
  init_params(g, 11);
  randomize_non_weights(g, 12);
  const std::vector<int> labels = {1, 4, 9};
  const TensorD xd = random_images<double>({3, 32, 32, 3}, 13);
  LossAndGrads ref = loss_and_grads(g, xd, labels, Mode::kTrain);
  for (KernelPath path : {KernelPath::kRef, KernelPath::kSimd}) {
    CAPTURE(static_cast<int>(path));
    Workspace<float> ws;
    REQUIRE(g.forward(xd.cast<float>(), ws, Mode::kTrain, path).ok());
    Tensor grad;
    auto loss = softmax_cross_entropy(ws.output(), labels, &grad);
    REQUIRE(loss.ok());
    REQUIRE(g.backward(grad, ws, true, path).ok());
    // float32 keeps ~7 digits; through ~10 layers with batch statistics the loss and
    // gradients stay within 1e-4 relative (L2) of float64, far below any real bug.
    CHECK(std::abs(*loss - ref.loss) <= 1e-4 * std::abs(ref.loss));
    double num = 0, den = 0;
    for (int64_t i = 0; i < xd.numel(); ++i) {
      const double d = ws.input_grad()[i] - ref.ws.input_grad()[i];
      num += d * d;
      den += ref.ws.input_grad()[i] * ref.ws.input_grad()[i];
    }
    CHECK(std::sqrt(num / den) <= 1e-4);
  }
}

TEST_CASE("batch-norm folding preserves the inference function") {
  for (const std::string arch : {"resnet8", "dscnn", "tiny_cnn"}) {
    CAPTURE(arch);
    const Shape input = arch == "dscnn" ? Shape{49, 10, 1} : Shape{32, 32, 3};
    auto built = build_architecture(arch, 10, input);
    REQUIRE(built.ok());
    init_params(*built, 21);
    randomize_non_weights(*built, 22);
    int folded = 0;
    auto f = fold_batch_norm(*built, &folded);
    REQUIRE(f.ok());
    int bn_before = 0, bn_after = 0;
    for (int i = 1; i < built->num_nodes(); ++i) bn_before += std::string(built->node(i).layer->type()) == "batch_norm";
    for (int i = 1; i < f->num_nodes(); ++i) bn_after += std::string(f->node(i).layer->type()) == "batch_norm";
    CHECK(bn_before > 0);
    CHECK(bn_after == 0);
    CHECK(folded == bn_before);
    const TensorD x = random_images<double>(with_batch(2, input), 23);
    Workspace<double> a, b;
    REQUIRE(built->forward(x, a, Mode::kInference, KernelPath::kRef).ok());
    REQUIRE(f->forward(x, b, Mode::kInference, KernelPath::kRef).ok());
    // Folded weights are rounded to float once, so agreement is to float precision.
    double max_diff = 0, max_mag = 0;
    for (int64_t i = 0; i < a.output().numel(); ++i) {
      max_diff = std::max(max_diff, std::abs(a.output()[i] - b.output()[i]));
      max_mag = std::max(max_mag, std::abs(a.output()[i]));
    }
    CHECK(max_diff <= 1e-5 * std::max(1.0, max_mag));
  }
}

TEST_CASE("builders match the MLPerf Tiny architectures' size") {
  // MACs per inference as published for MLPerf Tiny: ResNet-8 12.5 M, DS-CNN 2.7 M,
  // MobileNetV1-0.25 (96x96) 7.5 M. Batch-norm-free convs here, so weights differ only by BN.
  auto resnet = build_resnet8();
  REQUIRE(resnet.ok());
  CHECK(resnet->macs() == doctest::Approx(12.5e6).epsilon(0.03));
  CHECK(resnet->output_shape() == Shape{10});
  auto dscnn = build_dscnn();
  REQUIRE(dscnn.ok());
  CHECK(dscnn->macs() == doctest::Approx(2.7e6).epsilon(0.05));
  CHECK(dscnn->output_shape() == Shape{12});
  auto mobilenet = build_mobilenet_v1(0.25f, 2, {96, 96, 3});
  REQUIRE(mobilenet.ok());
  CHECK(mobilenet->macs() == doctest::Approx(7.5e6).epsilon(0.05));
  CHECK(mobilenet->output_shape() == Shape{2});

  CHECK_FALSE(build_resnet8(1).ok());
  CHECK_FALSE(build_mobilenet_v1(0.0f).ok());
  auto unknown = build_architecture("vgg16", 10, {32, 32, 3});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message().find("unknown architecture 'vgg16'") != std::string::npos);
}

TEST_CASE("graph rejects bad edges, names and run-time shapes") {
  Graph g({4});
  REQUIRE(g.append("fc", std::unique_ptr<Layer>(new Dense({4, 3, true}))).ok());
  auto dup = g.append("fc", std::unique_ptr<Layer>(new Activation(ActivationKind::kRelu)));
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.status().message().find("duplicate node name 'fc'") != std::string::npos);
  auto dangling = g.add("sum", std::unique_ptr<Layer>(new Add()), {"fc", "nowhere"});
  REQUIRE_FALSE(dangling.ok());
  CHECK(dangling.status().message().find("'nowhere', which is not an earlier node") != std::string::npos);
  auto arity = g.add("sum", std::unique_ptr<Layer>(new Add()), {"fc"});
  REQUIRE_FALSE(arity.ok());
  CHECK(arity.status().message().find("takes 2 input(s)") != std::string::npos);
  auto shapes = g.add("sum", std::unique_ptr<Layer>(new Add()), {"fc", "input"});
  REQUIRE_FALSE(shapes.ok());
  CHECK(shapes.status().message().find("differ in shape") != std::string::npos);

  Workspace<float> ws;
  Status wrong = g.forward(Tensor({2, 5}), ws);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.message() == "input shape [2, 5] does not match the model input [N, 4]");
  CHECK(g.forward(Tensor({2, 4}), ws).ok());
  CHECK(ws.output().shape() == Shape{2, 3});
  // A residual that reuses a node: gradients from both consumers add up.
  Graph r({3});
  REQUIRE(r.append("relu", std::unique_ptr<Layer>(new Activation(ActivationKind::kRelu))).ok());
  REQUIRE(r.add("double", std::unique_ptr<Layer>(new Add()), {"relu", "relu"}).ok());
  Workspace<float> rws;
  REQUIRE(r.forward(Tensor({1, 3}, std::vector<float>{1, -1, 2}), rws, Mode::kInference).ok());
  REQUIRE(r.backward(Tensor({1, 3}, 1.0f), rws).ok());
  CHECK(rws.input_grad().storage() == std::vector<float>{2, 0, 2});
}

TEST_CASE("reused workspaces keep no stale gradients") {
  Graph g({3});
  REQUIRE(g.append("fc1", std::unique_ptr<Layer>(new Dense({3, 4, true}))).ok());
  REQUIRE(g.append("relu", std::unique_ptr<Layer>(new Activation(ActivationKind::kRelu))).ok());
  REQUIRE(g.append("fc2", std::unique_ptr<Layer>(new Dense({4, 2, true}))).ok());
  init_params(g, 5);
  Workspace<float> ws;
  const Tensor x({2, 3}, std::vector<float>{0.1f, 0.2f, 0.3f, -0.4f, 0.5f, 0.6f});
  REQUIRE(g.forward(x, ws).ok());
  REQUIRE(g.backward(Tensor({2, 2}, 1.0f), ws).ok());
  const int fc2 = g.find("fc2");
  CHECK(ws.grads[fc2].numel() == 4);
  const Tensor first_input_grad = ws.input_grad();
  // Same pass again through the recycled buffers: identical results.
  REQUIRE(g.forward(x, ws).ok());
  REQUIRE(g.backward(Tensor({2, 2}, 1.0f), ws).ok());
  CHECK(ws.input_grad().storage() == first_input_grad.storage());
  // A shorter graph output: fc2 is no longer reached and must not keep its old gradient.
  REQUIRE(g.set_output("relu").ok());
  REQUIRE(g.forward(x, ws).ok());
  REQUIRE(g.backward(Tensor({2, 4}, 1.0f), ws).ok());
  CHECK(ws.grads[fc2].numel() == 0);
  CHECK(ws.input_grad().shape() == Shape{2, 3});
}

// Workspace::fuse_elementwise folds ReLUs into the conv or add feeding them (the mask then
// comes from the ReLU's output) and residual adds into the conv feeding them;
// Workspace::hand_off_grads lets add and ReLU backward reuse their gradient's buffer.
// Nothing may change: logits and input gradients bit for bit.
TEST_CASE("folding ReLUs and adds and handing off gradient buffers change no bit of a pass") {
  // ResNet-8 (conv -> relu, add -> relu), DS-CNN (its first and pointwise convs fold,
  // depthwise -> relu does not) and a
  // graph with ReLU6 where a conv feeds two consumers (not folded) and an add one (folded).
  std::vector<std::pair<std::string, Graph>> graphs;
  for (const std::string arch : {"resnet8", "dscnn"}) {
    const Shape input = arch == "dscnn" ? Shape{49, 10, 1} : Shape{32, 32, 3};
    auto built = build_architecture(arch, 10, input);
    REQUIRE(built.ok());
    init_params(*built, 31);
    randomize_non_weights(*built, 32);
    auto folded = fold_batch_norm(*built);
    REQUIRE(folded.ok());
    graphs.emplace_back(arch, std::move(*folded));
  }
  Graph small({6, 6, 3});
  const auto conv = [](int in, int out) { return std::unique_ptr<Layer>(new Conv2D({in, out, 3, 3, 1, 1, Padding::kSame, true})); };
  const auto relu6 = [] { return std::unique_ptr<Layer>(new Activation(ActivationKind::kRelu6)); };
  REQUIRE(small.append("c1", conv(3, 8)).ok());
  REQUIRE(small.append("r1", relu6()).ok());
  REQUIRE(small.append("c2", conv(8, 8)).ok());
  REQUIRE(small.append("r2", std::unique_ptr<Layer>(new Activation(ActivationKind::kRelu))).ok());
  REQUIRE(small.add("sum", std::unique_ptr<Layer>(new Add()), {"r2", "c2"}).ok());
  REQUIRE(small.append("r3", relu6()).ok());
  REQUIRE(small.add("twice", std::unique_ptr<Layer>(new Add()), {"r3", "r3"}).ok());  // one node, two grad inputs
  REQUIRE(small.append("pool", std::unique_ptr<Layer>(new GlobalAvgPool())).ok());
  REQUIRE(small.append("fc", std::unique_ptr<Layer>(new Dense({8, 4, true}))).ok());
  init_params(small, 33);
  graphs.emplace_back("small", std::move(small));
  const std::map<std::string, int> want_folded = {{"resnet8", 7}, {"dscnn", 5}, {"small", 2}};
  // ResNet-8's three adds fold into the conv computed last of their two inputs; in the
  // small graph one add has a ReLU as its later input and the other adds a node to itself.
  const std::map<std::string, int> want_folded_adds = {{"resnet8", 3}, {"dscnn", 0}, {"small", 0}};

  for (auto& entry : graphs) {
    const std::string& name = entry.first;  // not a structured binding: clang 14 cannot capture those
    const Graph& g = entry.second;
    Shape shape = with_batch(3, g.input_shape());
    Tensor x = random_images<float>(shape, 34);
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = x[i] * 24.0f - 8.0f;  // past ReLU6's kink at 6
    const std::vector<int> labels = {1, 3, 2};
    for (KernelPath path : {KernelPath::kRef, KernelPath::kSimd, KernelPath::kSimdWinograd}) {
      CAPTURE(name);
      CAPTURE(static_cast<int>(path));
      Workspace<float> plain, fused, handed, both;
      fused.fuse_elementwise = both.fuse_elementwise = true;
      handed.hand_off_grads = both.hand_off_grads = true;
      for (Workspace<float>* ws : {&plain, &fused, &handed, &both}) {
        for (int pass = 0; pass < 2; ++pass) {  // the second pass reuses the buffers
          REQUIRE(g.forward(x, *ws, Mode::kInference, path).ok());
          Tensor grad;
          REQUIRE(softmax_cross_entropy(ws->output(), labels, &grad).ok());
          REQUIRE(g.backward(grad, *ws, false, path).ok());
        }
      }
      const int folded = static_cast<int>(std::count_if(fused.fused_relu.begin(), fused.fused_relu.end(), [](int a) { return a >= 0; }));
      CHECK(folded == (path == KernelPath::kRef ? 0 : want_folded.at(name)));
      const int folded_adds = static_cast<int>(std::count_if(fused.fused_add.begin(), fused.fused_add.end(), [](int a) { return a >= 0; }));
      CHECK(folded_adds == (path == KernelPath::kRef ? 0 : want_folded_adds.at(name)));
      const auto same_bits = [](const Tensor& a, const Tensor& b) {
        return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.numel() * sizeof(float)) == 0;
      };
      CHECK(same_bits(fused.output(), plain.output()));
      CHECK(same_bits(fused.input_grad(), plain.input_grad()));
      CHECK(same_bits(handed.output(), plain.output()));
      CHECK(same_bits(handed.input_grad(), plain.input_grad()));
      CHECK(same_bits(both.output(), plain.output()));
      CHECK(same_bits(both.input_grad(), plain.input_grad()));
      for (int p = 0; p < static_cast<int>(fused.fused_relu.size()); ++p)
        if (fused.fused_relu[p] >= 0) CHECK(fused.values[p].numel() == 0);
      for (int p = 0; p < static_cast<int>(fused.fused_add.size()); ++p)
        if (fused.fused_add[p] >= 0) CHECK(fused.values[p].numel() == 0);
    }
  }
}
