// Reference architectures, written as chains of appends plus explicit residual edges.
#include "model/builders.h"

#include <cmath>
#include <memory>

#include "core/rng.h"
#include "model/layers/activation.h"
#include "model/layers/batch_norm.h"
#include "model/layers/conv2d.h"
#include "model/layers/dense.h"
#include "model/layers/depthwise_conv2d.h"
#include "model/layers/pool2d.h"
#include "model/layers/shape_ops.h"
#include "model/layers/thermometer.h"

namespace slingshot {
namespace {

// Appends layers to a chain and remembers the first error, so builders read as a list.
class ChainBuilder {
 public:
  explicit ChainBuilder(Shape input) : graph_(std::move(input)) {}

  int channels() const { return static_cast<int>(graph_.node(graph_.num_nodes() - 1).output_shape.back()); }
  std::string last() const { return graph_.node(graph_.num_nodes() - 1).name; }

  void add(const std::string& name, Layer* layer, std::vector<std::string> inputs = {}) {
    std::unique_ptr<Layer> owned(layer);
    if (!status_.ok()) return;
    if (inputs.empty()) inputs.push_back(last());
    auto r = graph_.add(name, std::move(owned), inputs);
    if (!r.ok()) status_ = r.status();
  }
  void conv(const std::string& name, int filters, int kh, int kw, int stride, bool use_bias = false,
            Padding padding = Padding::kSame, const std::string& from = "") {
    Conv2DConfig c;
    c.in_channels = from.empty() ? channels() : static_cast<int>(graph_.node(graph_.find(from)).output_shape.back());
    c.filters = filters, c.kernel_h = kh, c.kernel_w = kw, c.stride_h = c.stride_w = stride;
    c.padding = padding, c.use_bias = use_bias;
    add(name, new Conv2D(c), from.empty() ? std::vector<std::string>{} : std::vector<std::string>{from});
  }
  void depthwise(const std::string& name, int k, int stride) {
    DepthwiseConv2DConfig c;
    c.channels = channels(), c.kernel_h = c.kernel_w = k, c.stride_h = c.stride_w = stride, c.use_bias = false;
    add(name, new DepthwiseConv2D(c));
  }
  void bn(const std::string& name) { add(name, new BatchNorm({channels(), 1e-3f})); }
  void relu(const std::string& name, bool six = false) {
    add(name, new Activation(six ? ActivationKind::kRelu6 : ActivationKind::kRelu));
  }
  void head(int num_classes) {
    add("pool", new GlobalAvgPool());
    add("logits", new Dense({channels(), num_classes, true}));
  }

  Result<Graph> finish() {
    if (!status_.ok()) return status_;
    return std::move(graph_);
  }

 private:
  Graph graph_;
  Status status_;
};

Status check_classes(int num_classes) {
  if (num_classes < 2 || num_classes > 100000)
    return invalid_argument("number of classes must be in [2, 100000], got " + std::to_string(num_classes));
  return Status::Ok();
}

Status check_image_input(const Shape& input, int64_t min_hw) {
  if (input.size() != 3 || input[0] < min_hw || input[1] < min_hw || input[2] < 1 || input[0] > 4096 ||
      input[1] > 4096 || input[2] > 4096)
    return invalid_argument("input must be [H, W, C] with H, W >= " + std::to_string(min_hw) + ", got " +
                            shape_to_string(input));
  return Status::Ok();
}

}  // namespace

Result<Graph> build_resnet8(int num_classes, Shape input) {
  SLING_RETURN_IF_ERROR(check_classes(num_classes));
  SLING_RETURN_IF_ERROR(check_image_input(input, 4));
  ChainBuilder b(std::move(input));
  b.conv("conv0", 16, 3, 3, 1);
  b.bn("bn0");
  b.relu("relu0");
  const int widths[3] = {16, 32, 64};
  for (int s = 0; s < 3; ++s) {
    const std::string p = "stack" + std::to_string(s + 1) + "_";
    const std::string block_in = b.last();
    const int stride = s == 0 ? 1 : 2;
    b.conv(p + "conv1", widths[s], 3, 3, stride);
    b.bn(p + "bn1");
    b.relu(p + "relu1");
    b.conv(p + "conv2", widths[s], 3, 3, 1);
    b.bn(p + "bn2");
    const std::string main_path = b.last();
    std::string shortcut = block_in;
    if (stride != 1) {
      b.conv(p + "shortcut", widths[s], 1, 1, stride, /*use_bias=*/true, Padding::kSame, block_in);
      shortcut = b.last();
    }
    b.add(p + "add", new Add(), {main_path, shortcut});
    b.relu(p + "relu2");
  }
  b.head(num_classes);
  return b.finish();
}

Result<Graph> build_dscnn(int num_classes, Shape input) {
  SLING_RETURN_IF_ERROR(check_classes(num_classes));
  SLING_RETURN_IF_ERROR(check_image_input(input, 4));
  ChainBuilder b(std::move(input));
  b.conv("conv0", 64, 10, 4, 2);
  b.bn("bn0");
  b.relu("relu0");
  for (int i = 1; i <= 4; ++i) {
    const std::string p = "block" + std::to_string(i) + "_";
    b.depthwise(p + "dw", 3, 1);
    b.bn(p + "dw_bn");
    b.relu(p + "dw_relu");
    b.conv(p + "pw", 64, 1, 1, 1);
    b.bn(p + "pw_bn");
    b.relu(p + "pw_relu");
  }
  b.head(num_classes);
  return b.finish();
}

Result<Graph> build_mobilenet_v1(float alpha, int num_classes, Shape input) {
  SLING_RETURN_IF_ERROR(check_classes(num_classes));
  SLING_RETURN_IF_ERROR(check_image_input(input, 32));
  if (!(alpha > 0.0f && alpha <= 4.0f)) return invalid_argument("width multiplier alpha must be in (0, 4]");
  auto width = [alpha](int c) { return std::max(1, static_cast<int>(c * alpha)); };
  ChainBuilder b(std::move(input));
  b.conv("conv0", width(32), 3, 3, 2);
  b.bn("bn0");
  b.relu("relu0");
  const int blocks[13][2] = {{64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2},  {512, 1},
                             {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}};
  for (int i = 0; i < 13; ++i) {
    const std::string p = "block" + std::to_string(i + 1) + "_";
    b.depthwise(p + "dw", 3, blocks[i][1]);
    b.bn(p + "dw_bn");
    b.relu(p + "dw_relu");
    b.conv(p + "pw", width(blocks[i][0]), 1, 1, 1);
    b.bn(p + "pw_bn");
    b.relu(p + "pw_relu");
  }
  b.head(num_classes);
  return b.finish();
}

Result<Graph> build_tiny_cnn(int num_classes, Shape input) {
  SLING_RETURN_IF_ERROR(check_classes(num_classes));
  SLING_RETURN_IF_ERROR(check_image_input(input, 4));
  ChainBuilder b(std::move(input));
  b.conv("conv1", 8, 3, 3, 1);
  b.bn("bn1");
  b.relu("relu1");
  b.add("pool1", new Pool2D({PoolKind::kMax, 2, 2, 2, 2, Padding::kValid}));
  b.conv("conv2", 16, 3, 3, 1);
  b.bn("bn2");
  b.relu("relu2");
  b.head(num_classes);
  return b.finish();
}

Result<Graph> with_thermometer_head(Graph base, int levels, float lo, float hi) {
  SLING_ASSIGN_OR_RETURN(std::unique_ptr<Layer> head, Thermometer::make({levels, lo, hi}));
  Shape input = base.input_shape();
  if (input.empty() || input.back() % levels != 0)
    return invalid_argument("a thermometer head of " + std::to_string(levels) + " levels needs a network whose input " +
                            "channels are a multiple of it, got " + shape_to_string(input));
  input.back() /= levels;
  Graph g(input);
  const std::string head_name = "thermometer";
  SLING_RETURN_IF_ERROR(g.add(head_name, std::move(head), {"input"}).status());
  for (int i = 1; i < base.num_nodes(); ++i) {
    Node& node = base.node(i);
    std::vector<std::string> inputs;
    for (int in : node.inputs) inputs.push_back(in == 0 ? head_name : base.node(in).name);
    SLING_RETURN_IF_ERROR(g.add(node.name, std::move(node.layer), inputs).status());
  }
  SLING_RETURN_IF_ERROR(g.set_output(base.node(base.output_node()).name));
  return g;
}

Result<Graph> build_architecture(const std::string& name, int num_classes, const Shape& input) {
  const std::string prefix = "thermometer";
  if (name.rfind(prefix, 0) == 0) {
    const size_t underscore = name.find('_');
    const std::string digits = name.substr(prefix.size(), underscore == std::string::npos ? 0 : underscore - prefix.size());
    if (digits.empty() || digits.size() > 3 || digits.find_first_not_of("0123456789") != std::string::npos)
      return invalid_argument("architecture '" + name + "': a thermometer head is spelled thermometerLEVELS_NAME, e.g. "
                              "thermometer16_resnet8");
    const int levels = std::stoi(digits);
    if (input.empty()) return invalid_argument("architecture '" + name + "' needs an input shape with channels");
    Shape encoded = input;
    encoded.back() *= levels;
    SLING_ASSIGN_OR_RETURN(Graph base, build_architecture(name.substr(underscore + 1), num_classes, encoded));
    return with_thermometer_head(std::move(base), levels, 0.0f, 1.0f);
  }
  if (name == "resnet8") return build_resnet8(num_classes, input);
  if (name == "dscnn") return build_dscnn(num_classes, input);
  if (name == "mobilenet_v1") return build_mobilenet_v1(0.25f, num_classes, input);
  if (name == "tiny_cnn") return build_tiny_cnn(num_classes, input);
  return invalid_argument("unknown architecture '" + name + "' (known: resnet8, dscnn, mobilenet_v1, tiny_cnn)");
}

void init_params(Graph& graph, uint64_t seed) {
  Rng rng(seed);
  for (int i = 1; i < graph.num_nodes(); ++i) {
    Layer* layer = graph.node(i).layer.get();
    Param* w = layer->find_param("weight");
    if (!w) continue;
    // fan_in: everything but the output-channel axis (dense [out, in], conv OHWI, depthwise [1, kh, kw, C]).
    const Shape& s = w->value.shape();
    const int64_t fan_in = std::string(layer->type()) == "depthwise_conv2d" ? s[1] * s[2] : w->value.numel() / s[0];
    const float std_dev = std::sqrt(2.0f / static_cast<float>(fan_in));
    for (int64_t k = 0; k < w->value.numel(); ++k) w->value[k] = std_dev * rng.normal();
    if (Param* b = layer->find_param("bias")) b->value.fill(0.0f);
  }
}

}  // namespace slingshot
