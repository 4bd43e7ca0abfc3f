// Every layer's backward against central finite differences in float64, plus the
// shape and hyper-parameter errors layers must report.
#include <doctest/doctest.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "grad_check.h"
#include "model/layer_registry.h"
#include "model/layers/activation.h"
#include "model/layers/affine.h"
#include "model/layers/batch_norm.h"
#include "model/layers/conv2d.h"
#include "model/layers/dense.h"
#include "model/layers/depthwise_conv2d.h"
#include "model/layers/pool2d.h"
#include "model/layers/shape_ops.h"
#include "model/loss.h"

using namespace slingshot;
using namespace slingshot::testing;

namespace {

// The bound for the float64 check path.
constexpr double kMaxRelError = 1e-4;

// Runs one double forward of `layer` on `inputs`.
TensorD run_forward(const Layer& layer, const std::vector<TensorD>& inputs, Mode mode,
                    std::vector<TensorD>* cache_out = nullptr) {
  std::vector<const TensorD*> ptrs;
  for (const auto& t : inputs) ptrs.push_back(&t);
  TensorD out;
  std::vector<TensorD> cache;
  std::vector<double> scratch;
  ForwardArgs<double> args{ptrs, &out, &cache, &scratch, mode, KernelPath::kRef};
  REQUIRE(layer.forward(args).ok());
  if (cache_out) *cache_out = std::move(cache);
  return out;
}

// Checks dL/d(inputs) and dL/d(trainable params) of L = sum(r * layer(inputs)) for
// random inputs, parameters and projection r.
void check_layer(Layer& layer, const std::vector<Shape>& in_shapes, Mode mode, uint64_t seed, double h = 1e-6,
                 float in_lo = -1.0f, float in_hi = 1.0f) {
  Rng rng(seed);
  for (Param& p : layer.params()) {
    if (p.name == "gamma" || p.name == "running_var")
      randomize(p.value, rng, 0.5f, 1.5f);
    else
      randomize(p.value, rng, -0.5f, 0.5f);
  }
  std::vector<TensorD> inputs;
  for (const Shape& s : in_shapes) inputs.push_back(random_tensor(s, rng, in_lo, in_hi));
  auto out_shape = layer.output_shape(in_shapes);
  REQUIRE(out_shape.ok());
  const TensorD r = random_tensor(*out_shape, rng);

  auto loss = [&]() {
    const TensorD y = run_forward(layer, inputs, mode);
    double s = 0;
    for (int64_t i = 0; i < y.numel(); ++i) s += r[i] * y[i];
    return s;
  };

  std::vector<TensorD> cache;
  const TensorD y = run_forward(layer, inputs, mode, &cache);
  CHECK(y.shape() == *out_shape);
  std::vector<const TensorD*> in_ptrs;
  for (const auto& t : inputs) in_ptrs.push_back(&t);
  std::vector<TensorD> grad_in(inputs.size());
  std::vector<TensorD*> grad_in_ptrs;
  for (auto& g : grad_in) grad_in_ptrs.push_back(&g);
  std::vector<TensorD> grad_params;
  for (const Param& p : layer.params()) grad_params.emplace_back(p.value.shape());
  std::vector<double> scratch;
  BackwardArgs<double> args{in_ptrs, &y, &r, grad_in_ptrs, grad_params, &cache, &scratch, KernelPath::kRef};
  REQUIRE(layer.backward(args).ok());

  for (size_t k = 0; k < inputs.size(); ++k) {
    REQUIRE(grad_in[k].shape() == inputs[k].shape());
    const auto st = check_tensor_gradient(inputs[k], grad_in[k], sample_indices(inputs[k].numel(), 300, seed + k),
                                          loss, h, gradient_floor(grad_in[k]));
    INFO(std::string(layer.type()), " input ", k, " max rel error ", st.max_rel);
    CHECK(st.max_rel <= kMaxRelError);
  }
  for (size_t k = 0; k < layer.params().size(); ++k) {
    Param& p = layer.params()[k];
    if (!p.trainable) continue;
    const auto st = check_param_gradient(p.value, grad_params[k], sample_indices(p.value.numel(), 200, seed + 17 * k),
                                         loss, 1e-3f, gradient_floor(grad_params[k]));
    INFO(std::string(layer.type()), " param ", p.name, " max rel error ", st.max_rel);
    CHECK(st.max_rel <= kMaxRelError);
  }
}

Conv2DConfig conv_config(int cin, int cout, int kh, int kw, int stride, Padding pad, bool bias) {
  Conv2DConfig c;
  c.in_channels = cin, c.filters = cout, c.kernel_h = kh, c.kernel_w = kw, c.stride_h = c.stride_w = stride;
  c.padding = pad, c.use_bias = bias;
  return c;
}

}  // namespace

TEST_CASE("conv2d gradients match finite differences") {
  struct Case {
    int cin, cout, kh, kw, stride;
    Padding pad;
    bool bias;
    Shape in;
  };
  const Case cases[] = {
      {3, 4, 3, 3, 1, Padding::kSame, true, {2, 7, 6, 3}},   {3, 5, 3, 3, 2, Padding::kSame, false, {1, 9, 8, 3}},
      {2, 3, 3, 3, 2, Padding::kValid, true, {2, 9, 7, 2}},  {1, 4, 10, 4, 2, Padding::kSame, true, {1, 13, 6, 1}},
      {5, 3, 1, 1, 2, Padding::kSame, true, {1, 5, 5, 5}},   {4, 2, 2, 2, 1, Padding::kValid, false, {1, 4, 5, 4}},
  };
  int seed = 1;
  for (const Case& c : cases) {
    Conv2D layer(conv_config(c.cin, c.cout, c.kh, c.kw, c.stride, c.pad, c.bias));
    CAPTURE(seed);
    check_layer(layer, {c.in}, Mode::kInference, seed++);
  }
}

TEST_CASE("depthwise conv2d gradients match finite differences") {
  for (int stride : {1, 2})
    for (Padding pad : {Padding::kSame, Padding::kValid}) {
      DepthwiseConv2DConfig c;
      c.channels = 3, c.kernel_h = 3, c.kernel_w = 3, c.stride_h = c.stride_w = stride, c.padding = pad;
      DepthwiseConv2D layer(c);
      check_layer(layer, {{2, 7, 6, 3}}, Mode::kInference, 100 + stride * 2 + (pad == Padding::kSame));
    }
}

TEST_CASE("dense gradients match finite differences") {
  Dense with_bias({7, 5, true});
  check_layer(with_bias, {{3, 7}}, Mode::kInference, 200);
  Dense no_bias({4, 9, false});
  check_layer(no_bias, {{2, 4}}, Mode::kInference, 201);
}

TEST_CASE("batch norm gradients match finite differences in both modes") {
  for (Mode mode : {Mode::kTrain, Mode::kInference}) {
    BatchNorm rank4({3, 1e-3f});
    check_layer(rank4, {{2, 3, 4, 3}}, mode, 300 + static_cast<int>(mode));
    BatchNorm rank2({5, 1e-3f});
    check_layer(rank2, {{6, 5}}, mode, 310 + static_cast<int>(mode));
  }
}

TEST_CASE("relu and relu6 gradients match finite differences") {
  Activation relu(ActivationKind::kRelu);
  check_layer(relu, {{2, 4, 4, 3}}, Mode::kInference, 400, 1e-7, -3.0f, 3.0f);
  Activation relu6(ActivationKind::kRelu6);
  check_layer(relu6, {{2, 4, 4, 3}}, Mode::kInference, 401, 1e-7, -2.0f, 9.0f);
}

TEST_CASE("pooling gradients match finite differences") {
  const Pool2DConfig configs[] = {
      {PoolKind::kMax, 2, 2, 2, 2, Padding::kValid},  {PoolKind::kMax, 3, 3, 2, 2, Padding::kSame},
      {PoolKind::kAverage, 2, 2, 2, 2, Padding::kValid}, {PoolKind::kAverage, 3, 3, 2, 2, Padding::kSame},
      {PoolKind::kAverage, 3, 2, 1, 1, Padding::kSame},
  };
  int seed = 500;
  for (const auto& c : configs) {
    Pool2D layer(c);
    check_layer(layer, {{2, 7, 5, 3}}, Mode::kInference, seed++, 1e-7);
  }
}

TEST_CASE("global average pool, add, flatten, softmax and affine gradients match finite differences") {
  GlobalAvgPool gap;
  check_layer(gap, {{2, 3, 5, 4}}, Mode::kInference, 600);
  Add add;
  check_layer(add, {{2, 3, 3, 2}, {2, 3, 3, 2}}, Mode::kInference, 601);
  Flatten flatten;
  check_layer(flatten, {{2, 3, 2, 2}}, Mode::kInference, 602);
  Softmax softmax;
  check_layer(softmax, {{3, 6}}, Mode::kInference, 603, 1e-6, -4.0f, 4.0f);
  Affine affine(AffineConfig{255.0, -3.5});
  check_layer(affine, {{2, 3, 2, 3}}, Mode::kInference, 604);
}

TEST_CASE("softmax cross-entropy gradient matches finite differences") {
  Rng rng(700);
  TensorD logits = random_tensor({4, 5}, rng, -3.0f, 3.0f);
  const std::vector<int> labels = {0, 4, 2, 2};
  TensorD grad;
  auto loss0 = softmax_cross_entropy<double>(logits, labels, &grad);
  REQUIRE(loss0.ok());
  auto loss = [&]() { return *softmax_cross_entropy<double>(logits, labels, nullptr); };
  const auto st = check_tensor_gradient(logits, grad, sample_indices(logits.numel(), 100, 1), loss, 1e-6,
                                        gradient_floor(grad));
  CHECK(st.max_rel <= kMaxRelError);
  // Large logits must not overflow.
  TensorD big({1, 3}, std::vector<double>{1000.0, -1000.0, 0.0});
  auto l = softmax_cross_entropy<double>(big, std::vector<int>{1}, nullptr);
  REQUIRE(l.ok());
  CHECK(*l == doctest::Approx(2000.0));
}

TEST_CASE("cross-entropy rejects bad labels and shapes") {
  Tensor logits({2, 3});
  auto bad_label = softmax_cross_entropy<float>(logits, std::vector<int>{0, 3}, nullptr);
  REQUIRE_FALSE(bad_label.ok());
  CHECK(bad_label.status().message().find("label 3") != std::string::npos);
  auto bad_count = softmax_cross_entropy<float>(logits, std::vector<int>{0}, nullptr);
  REQUIRE_FALSE(bad_count.ok());
  CHECK(bad_count.status().message().find("1 labels for a batch of 2") != std::string::npos);
}

TEST_CASE("layers report wrong input shapes by name") {
  Conv2D conv(conv_config(3, 4, 3, 3, 1, Padding::kSame, true));
  const Shape wrong_channels[] = {{1, 8, 8, 5}};
  auto r = conv.output_shape(wrong_channels);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("expects 3 input channels") != std::string::npos);

  Conv2D valid(conv_config(3, 4, 5, 5, 1, Padding::kValid, true));
  const Shape too_small[] = {{1, 3, 3, 3}};
  auto r2 = valid.output_shape(too_small);
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.status().message().find("does not fit") != std::string::npos);

  Dense dense({7, 5, true});
  const Shape rank4[] = {{1, 2, 2, 2}};
  auto r3 = dense.output_shape(rank4);
  REQUIRE_FALSE(r3.ok());
  CHECK(r3.status().message().find("rank-2") != std::string::npos);

  Add add;
  const Shape mismatched[] = {{1, 2}, {1, 3}};
  CHECK_FALSE(add.output_shape(mismatched).ok());
}

TEST_CASE("layer registry builds every type and rejects bad hyper-parameters") {
  for (const std::string& type : layer_types()) {
    nlohmann::json hyper = nlohmann::json::object();
    if (type == "conv2d")
      hyper = {{"in_channels", 3}, {"filters", 4}, {"kernel", {3, 3}}, {"strides", {1, 1}}, {"padding", "same"},
               {"use_bias", true}};
    else if (type == "depthwise_conv2d")
      hyper = {{"channels", 3}, {"kernel", {3, 3}}, {"strides", {1, 1}}, {"padding", "valid"}, {"use_bias", false}};
    else if (type == "dense")
      hyper = {{"in_features", 3}, {"units", 2}, {"use_bias", true}};
    else if (type == "batch_norm")
      hyper = {{"channels", 3}, {"epsilon", 0.001}};
    else if (type == "max_pool2d" || type == "avg_pool2d")
      hyper = {{"pool", {2, 2}}, {"strides", {2, 2}}, {"padding", "valid"}};
    else if (type == "fake_quant")
      hyper = {{"scale", 0.25}, {"zero_point", -3}, {"qmin", -8}, {"qmax", 7}};
    else if (type == "activation_quant")
      hyper = {{"bits", 4}};
    else if (type == "affine")
      hyper = {{"scale", 255.0}, {"offset", -128.0}};
    else if (type == "thermometer")
      hyper = {{"levels", 16}, {"lo", 0.0}, {"hi", 1.0}};
    auto layer = make_layer(type, hyper);
    INFO(type, ": ", layer.status().to_string());
    REQUIRE(layer.ok());
    CHECK(std::string((*layer)->type()) == type);
    // Round trip through to_json.
    nlohmann::json back = nlohmann::json::object();
    (*layer)->to_json(back);
    CHECK(make_layer(type, back).ok());
  }
  auto unknown = make_layer("lstm", nlohmann::json::object());
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message().find("unknown layer type 'lstm'") != std::string::npos);

  auto missing = make_layer("dense", {{"units", 2}, {"use_bias", true}});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().find("missing field 'in_features'") != std::string::npos);

  auto bad_bits = make_layer("activation_quant", {{"bits", 9}});
  REQUIRE_FALSE(bad_bits.ok());
  CHECK(bad_bits.status().message().find("bits") != std::string::npos);

  auto bad_pad = make_layer("max_pool2d", {{"pool", {2, 2}}, {"strides", {2, 2}}, {"padding", "full"}});
  REQUIRE_FALSE(bad_pad.ok());
  CHECK(bad_pad.status().message().find("\"same\" or \"valid\"") != std::string::npos);

  auto bad_kernel = make_layer("conv2d", {{"in_channels", 3}, {"filters", 4}, {"kernel", {3, -1}},
                                          {"strides", {1, 1}}, {"padding", "same"}, {"use_bias", true}});
  REQUIRE_FALSE(bad_kernel.ok());
  CHECK(bad_kernel.status().message().find("kernel[1]") != std::string::npos);

  auto wrong_type = make_layer("dense", {{"in_features", "3"}, {"units", 2}, {"use_bias", true}});
  REQUIRE_FALSE(wrong_type.ok());
  CHECK(wrong_type.status().message().find("must be an integer") != std::string::npos);
}
