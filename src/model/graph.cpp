// Graph construction, shape validation and the forward/backward sweeps.
#include "model/graph.h"

#include <algorithm>
#include <type_traits>

#include "kernels/ref/add__ref.h"
#include "kernels/simd/add_f32__simd.h"
#include "model/layers/activation.h"
#include "model/layers/shape_ops.h"

namespace slingshot {

Shape with_batch(int64_t batch, const Shape& per_sample) {
  Shape s{batch};
  s.insert(s.end(), per_sample.begin(), per_sample.end());
  return s;
}

Graph::Graph(Shape input_shape) : input_shape_(std::move(input_shape)) {
  Node in;
  in.name = "input";
  in.output_shape = with_batch(1, input_shape_);
  nodes_.push_back(std::move(in));
}

int Graph::find(const std::string& name) const {
  for (int i = 0; i < num_nodes(); ++i)
    if (nodes_[i].name == name) return i;
  return -1;
}

Result<int> Graph::add(std::string name, std::unique_ptr<Layer> layer, const std::vector<std::string>& inputs) {
  if (!layer) return invalid_argument("node '" + name + "' has no layer");
  if (name.empty()) return invalid_argument("node names must not be empty");
  if (find(name) >= 0) return invalid_argument("duplicate node name '" + name + "'");
  if (static_cast<int>(inputs.size()) != layer->num_inputs())
    return invalid_argument("node '" + name + "' (" + layer->type() + ") takes " +
                            std::to_string(layer->num_inputs()) + " input(s), got " + std::to_string(inputs.size()));
  Node node;
  node.name = std::move(name);
  std::vector<Shape> shapes;
  for (const std::string& in : inputs) {
    const int idx = find(in);
    if (idx < 0) return invalid_argument("node '" + node.name + "' reads '" + in + "', which is not an earlier node");
    node.inputs.push_back(idx);
    shapes.push_back(nodes_[idx].output_shape);
  }
  auto shape = layer->output_shape(shapes);
  if (!shape.ok()) return shape.status().with_context("node '" + node.name + "'");
  node.output_shape = *shape;
  node.layer = std::move(layer);
  nodes_.push_back(std::move(node));
  output_node_ = num_nodes() - 1;
  return output_node_;
}

Result<int> Graph::append(std::string name, std::unique_ptr<Layer> layer) {
  const std::string prev = nodes_.back().name;
  return add(std::move(name), std::move(layer), {prev});
}

Status Graph::set_output(const std::string& name) {
  const int idx = find(name);
  if (idx < 0) return not_found("output node '" + name + "' does not exist");
  output_node_ = idx;
  return Status::Ok();
}

Shape Graph::output_shape() const {
  const Shape& s = nodes_[output_node_].output_shape;
  return Shape(s.begin() + 1, s.end());
}

int64_t Graph::num_params(bool trainable_only) const {
  int64_t n = 0;
  for (const Node& node : nodes_)
    if (node.layer)
      for (const Param& p : node.layer->params())
        if (p.trainable || !trainable_only) n += p.value.numel();
  return n;
}

int64_t Graph::macs() const {
  int64_t total = 0;
  for (const Node& node : nodes_) {
    if (!node.layer) continue;
    std::vector<Shape> in;
    for (int i : node.inputs) in.push_back(nodes_[i].output_shape);
    total += node.layer->macs(in, node.output_shape);
  }
  return total;
}

namespace {

// For Workspace::fuse_elementwise, per node (-1 elsewhere):
//   fused_relu[p] = a for each ReLU node a whose input p feeds only a and applies a folded ReLU;
//   fused_add[c] = a for each add node a whose later input c feeds only a and adds a folded
//   residual (the other input, computed before c).
void plan_fusion(const std::vector<Node>& nodes, int output_node, std::vector<int>& fused_relu,
                 std::vector<int>& fused_add) {
  const int n = static_cast<int>(nodes.size());
  fused_relu.assign(n, -1);
  fused_add.assign(n, -1);
  std::vector<int> consumers(n, 0);
  for (int i = 1; i <= output_node; ++i)
    for (int j : nodes[i].inputs) ++consumers[j];
  for (int a = 1; a <= output_node; ++a) {
    const Layer* layer = nodes[a].layer.get();
    if (dynamic_cast<const Activation*>(layer)) {
      const int p = nodes[a].inputs[0];
      if (p >= 1 && consumers[p] == 1 && nodes[p].layer->fuses_relu()) fused_relu[p] = a;
    } else if (dynamic_cast<const Add*>(layer) && nodes[a].inputs[0] != nodes[a].inputs[1]) {
      const int c = std::max(nodes[a].inputs[0], nodes[a].inputs[1]);
      if (consumers[c] == 1 && nodes[c].layer->fuses_add()) fused_add[c] = a;
    }
  }
}

// True if node i is a ReLU its producer computed (fused as plan_fusion planned).
bool folded_relu(const std::vector<Node>& nodes, const std::vector<int>& fused_relu, int i) {
  return !fused_relu.empty() && !nodes[i].inputs.empty() && nodes[i].inputs[0] >= 1 &&
         fused_relu[nodes[i].inputs[0]] == i;
}

// True if node i is an add its later input's layer computed.
bool folded_add(const std::vector<Node>& nodes, const std::vector<int>& fused_add, int i) {
  return !fused_add.empty() && nodes[i].inputs.size() == 2 &&
         fused_add[std::max(nodes[i].inputs[0], nodes[i].inputs[1])] == i;
}

}  // namespace

template <class T>
Status Graph::forward(const TensorT<T>& x, Workspace<T>& ws, Mode mode, KernelPath kernels) const {
  if (x.rank() != static_cast<int>(input_shape_.size()) + 1 || x.dim(0) <= 0 ||
      !std::equal(input_shape_.begin(), input_shape_.end(), x.shape().begin() + 1))
    return invalid_argument("input shape " + shape_to_string(x.shape()) + " does not match the model input " +
                            "[N" + shape_to_string(input_shape_).substr(1).insert(0, input_shape_.empty() ? "" : ", "));
  const int n = num_nodes();
  ws.values.resize(n);
  ws.caches.resize(n);
  ws.values[0] = x;
  if (ws.fuse_elementwise && std::is_same_v<T, float> && uses_simd(kernels)) {
    plan_fusion(nodes_, output_node_, ws.fused_relu, ws.fused_add);
  } else {
    ws.fused_relu.clear();
    ws.fused_add.clear();
  }
  std::vector<const TensorT<T>*> inputs;
  for (int i = 1; i <= output_node_; ++i) {
    // A folded node's value was written by its producer.
    if (folded_relu(nodes_, ws.fused_relu, i) || folded_add(nodes_, ws.fused_add, i)) continue;
    const Node& node = nodes_[i];
    inputs.clear();
    for (int j : node.inputs) inputs.push_back(&ws.values[j]);
    const int add = ws.fused_add.empty() ? -1 : ws.fused_add[i];
    const int out = add >= 0 ? add : i;  // the node whose value this layer computes
    const int relu = ws.fused_relu.empty() ? -1 : ws.fused_relu[out];
    ForwardArgs<T> args{inputs, &ws.values[relu >= 0 ? relu : out], &ws.caches[i], &ws.scratch, mode, kernels};
    if (relu >= 0) args.relu = static_cast<const Activation&>(*nodes_[relu].layer).as_fused();
    if (add >= 0) args.residual = &ws.values[std::min(nodes_[add].inputs[0], nodes_[add].inputs[1])];
    Status st = node.layer->forward(args);
    if (!st.ok()) return st.with_context("node '" + node.name + "'");
    if (relu >= 0 || add >= 0) ws.values[i].resize({0});
    if (relu >= 0 && add >= 0) ws.values[add].resize({0});
  }
  ws.output_node = output_node_;
  return Status::Ok();
}

template <class T>
Status Graph::backward(const TensorT<T>& grad_output, Workspace<T>& ws, bool param_grads, KernelPath kernels) const {
  return backward(grad_output, std::span<const std::pair<int, const TensorT<T>*>>(), ws, param_grads, kernels);
}

template <class T>
Status Graph::backward(const TensorT<T>& grad_output, std::span<const std::pair<int, const TensorT<T>*>> seeds,
                       Workspace<T>& ws, bool param_grads, KernelPath kernels) const {
  if (ws.values.size() != nodes_.size() || ws.output_node != output_node_)
    return invalid_argument("backward called without a matching forward");
  if (grad_output.shape() != ws.values[output_node_].shape())
    return invalid_argument("output gradient shape " + shape_to_string(grad_output.shape()) +
                            " does not match the output " + shape_to_string(ws.values[output_node_].shape()));
  const int n = num_nodes();
  // Buffers are kept across calls (reallocating them every pass costs page faults);
  // nodes backward never reaches are emptied below, so no stale gradient survives.
  ws.grads.resize(n);
  ws.param_grads.resize(n);
  // A node may feed several consumers; its gradient is the sum of what they send back.
  std::vector<bool> has_grad(n, false);
  ws.grads[output_node_] = grad_output;
  has_grad[output_node_] = true;
  for (const auto& [node, seed] : seeds) {
    if (node < 1 || node > output_node_ || !seed || seed->shape() != ws.values[node].shape())
      return invalid_argument("backward seed for node " + std::to_string(node) + " does not match its value");
    if (!has_grad[node]) {
      ws.grads[node] = *seed;
      has_grad[node] = true;
    } else {
      for (int64_t e = 0; e < seed->numel(); ++e) ws.grads[node][e] += (*seed)[e];
    }
  }
  std::vector<const TensorT<T>*> inputs;
  std::vector<TensorT<T>>& local = ws.partial_grads;
  std::vector<TensorT<T>*> grad_inputs;
  for (int i = output_node_; i >= 1; --i) {
    if (!has_grad[i]) continue;
    const Node& node = nodes_[i];
    inputs.clear();
    grad_inputs.clear();
    // The first consumer of a node (the last in node order) writes its gradient in place;
    // later ones write to `local` and are added, or add in place if their layer can
    // (Layer::accumulates_grad_input: convs on SIMD kernels). Each node, and each `local`
    // slot, keeps its buffer across calls, so steady-state passes neither allocate nor
    // zero-fill.
    if (local.size() < node.inputs.size()) local.resize(node.inputs.size());
    // A folded ReLU reads its mask from its own output (Activation::backward_t).
    const bool folded = folded_relu(nodes_, ws.fused_relu, i);
    // A single-input layer that can add its share into the sum does so in place.
    const bool can_accumulate =
        std::is_same_v<T, float> && node.inputs.size() == 1 && node.layer->accumulates_grad_input(kernels);
    bool accumulate = false;
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      const int src = node.inputs[k];
      inputs.push_back(folded ? &ws.values[i] : &ws.values[src]);
      const bool first = !has_grad[src] && std::find(node.inputs.begin(), node.inputs.begin() + k, src) ==
                                               node.inputs.begin() + k;
      accumulate = !first && can_accumulate;
      grad_inputs.push_back(first || accumulate ? &ws.grads[src] : &local[k]);
    }
    auto& pg = ws.param_grads[i];
    const auto& params = node.layer->params();
    if (param_grads) {
      pg.resize(params.size());
      for (size_t k = 0; k < params.size(); ++k) pg[k].resize(params[k].value.shape());
    }
    BackwardArgs<T> args{inputs,     &ws.values[i], &ws.grads[i], grad_inputs,
                         param_grads ? std::span<TensorT<T>>(pg) : std::span<TensorT<T>>(),
                         &ws.caches[i], &ws.scratch, kernels};
    if (ws.hand_off_grads) args.spare_grad_output = &ws.grads[i];
    args.accumulate = accumulate;
    Status st = node.layer->backward(args);
    if (!st.ok()) return st.with_context("node '" + node.name + "' backward");
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      const int src = node.inputs[k];
      if (grad_inputs[k] == &ws.grads[src]) {
        has_grad[src] = true;
      } else {
        T* acc = ws.grads[src].data();
        const int64_t count = ws.grads[src].numel();
        if constexpr (std::is_same_v<T, float>) {
          if (uses_simd(kernels)) add_f32__simd(count, acc, local[k].data(), acc);
          else add__ref<T>(count, acc, local[k].data(), acc);
        } else {
          add__ref<T>(count, acc, local[k].data(), acc);
        }
      }
    }
  }
  for (int i = 1; i < n; ++i)
    if (!has_grad[i]) ws.grads[i].resize({0});
  if (!has_grad[0]) {
    ws.grads[0].resize(ws.values[0].shape());
    ws.grads[0].fill(T(0));
  }
  return Status::Ok();
}

void Graph::update_running_stats(const Workspace<float>& ws, float momentum) {
  for (int i = 1; i < num_nodes() && i < static_cast<int>(ws.caches.size()); ++i)
    nodes_[i].layer->update_running_stats(ws.caches[i], momentum);
}

template Status Graph::forward<float>(const Tensor&, Workspace<float>&, Mode, KernelPath) const;
template Status Graph::forward<double>(const TensorD&, Workspace<double>&, Mode, KernelPath) const;
template Status Graph::backward<float>(const Tensor&, Workspace<float>&, bool, KernelPath) const;
template Status Graph::backward<double>(const TensorD&, Workspace<double>&, bool, KernelPath) const;
template Status Graph::backward<float>(const Tensor&, std::span<const std::pair<int, const Tensor*>>,
                                       Workspace<float>&, bool, KernelPath) const;
template Status Graph::backward<double>(const TensorD&, std::span<const std::pair<int, const TensorD*>>,
                                        Workspace<double>&, bool, KernelPath) const;

}  // namespace slingshot
