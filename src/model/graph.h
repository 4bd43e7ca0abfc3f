// The float master graph: a DAG of layers over one NHWC (or flat) input.
// Node 0 is the graph input; every other node is a layer whose inputs are earlier
// nodes, so node order is a topological order and a pass is a single sweep.
#pragma once

#include <memory>
#include <string>
#include <span>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "model/layer.h"

namespace slingshot {

struct Node {
  std::string name;              // unique within the graph; "input" for node 0
  std::unique_ptr<Layer> layer;  // null for the input node
  std::vector<int> inputs;       // indices of earlier nodes
  Shape output_shape;            // per-sample shape with batch 1, e.g. [1, 16, 16, 32]
};

// Everything one pass needs besides the model: activations, gradients, caches, scratch.
// Keep one per thread; reusing it across passes avoids reallocation.
template <class T>
struct Workspace {
  std::vector<TensorT<T>> values;                   // output of each node (values[0] is the input)
  std::vector<TensorT<T>> grads;                    // dL/d(output) of each node after backward
  std::vector<std::vector<TensorT<T>>> caches;      // per-node layer caches
  std::vector<std::vector<TensorT<T>>> param_grads; // per-node, per-parameter gradients
  std::vector<T> scratch;                           // shared kernel scratch
  std::vector<TensorT<T>> partial_grads;            // backward: a later consumer's share, before it is summed
  int output_node = 0;                              // which node forward ended at
  // Opt-in for passes that read only the output and the input gradient (attack
  // gradients): forward folds each ReLU, and each residual add, into the layer feeding it
  // when that layer feeds nothing else, and the layer applies them as it stores
  // (Layer::fuses_relu, Layer::fuses_add), which saves passes over activations and their
  // memory. A folded layer's own value (and a folded add's, under a folded ReLU) is then
  // left empty, and seeds (backward) cannot target it.
  bool fuse_elementwise = false;
  std::vector<int> fused_relu;                      // per node: the ReLU node folded into it, else -1
  std::vector<int> fused_add;                       // per node: the add node folded into it, else -1
  // Opt-in for the same passes: backward offers each node's gradient buffer to its layer
  // (BackwardArgs::spare_grad_output), so add hands it to an input instead of copying it
  // and ReLU masks it in place. ws.grads then holds only the input's gradient; the other
  // nodes' entries are buffers kept for reuse, not their gradients.
  bool hand_off_grads = false;

  const TensorT<T>& output() const { return values[output_node]; }
  // dL/d(input) after backward.
  const TensorT<T>& input_grad() const { return grads[0]; }
};

class Graph {
 public:
  // `input_shape` is per sample, without the batch axis: [H, W, C] or [features].
  explicit Graph(Shape input_shape);
  Graph(Graph&&) = default;
  Graph& operator=(Graph&&) = default;

  // Appends a layer fed by the named earlier nodes; checks arity and shapes.
  // Returns the new node's index.
  Result<int> add(std::string name, std::unique_ptr<Layer> layer, const std::vector<std::string>& inputs);
  // Convenience for a chain: feeds the layer from the last node added.
  Result<int> append(std::string name, std::unique_ptr<Layer> layer);

  // The node whose value is the model output (defaults to the last node).
  Status set_output(const std::string& name);
  int output_node() const { return output_node_; }

  const Shape& input_shape() const { return input_shape_; }
  // Per-sample output shape, without the batch axis.
  Shape output_shape() const;
  int num_nodes() const { return static_cast<int>(nodes_.size()); }
  const Node& node(int i) const { return nodes_[i]; }
  Node& node(int i) { return nodes_[i]; }
  // Index of a node by name, or -1.
  int find(const std::string& name) const;

  int64_t num_params(bool trainable_only = true) const;
  // Multiply-accumulates per sample.
  int64_t macs() const;

  // Runs every node up to the output. `x` is [N, input_shape...].
  template <class T>
  Status forward(const TensorT<T>& x, Workspace<T>& ws, Mode mode = Mode::kInference,
                 KernelPath kernels = KernelPath::kSimd) const;
  // Back-propagates `grad_output` (dL/d(output)) after forward. Fills ws.grads (input
  // gradient at ws.input_grad()) and, if `param_grads`, ws.param_grads.
  template <class T>
  Status backward(const TensorT<T>& grad_output, Workspace<T>& ws, bool param_grads = true,
                  KernelPath kernels = KernelPath::kSimd) const;
  // The same, with extra loss terms on intermediate nodes: `seeds` adds dL/d(value of
  // node i) for each (i, gradient) pair (per-layer regularizers use this).
  template <class T>
  Status backward(const TensorT<T>& grad_output, std::span<const std::pair<int, const TensorT<T>*>> seeds,
                  Workspace<T>& ws, bool param_grads = true, KernelPath kernels = KernelPath::kSimd) const;

  // Folds the batch statistics a training forward recorded into the running averages.
  void update_running_stats(const Workspace<float>& ws, float momentum);

 private:
  Shape input_shape_;
  std::vector<Node> nodes_;
  int output_node_ = 0;
};

// Shape with a batch axis prepended.
Shape with_batch(int64_t batch, const Shape& per_sample);

}  // namespace slingshot
