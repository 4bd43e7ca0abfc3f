// The layer interface of the float master graph. A layer is stateless during a pass:
// forward and backward are const and keep what backward needs in a per-call cache, so
// one model can serve many concurrent passes. Every layer runs in float (training and
// inference) and double (gradient checks) through the same templated code.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"
#include "core/tensor.h"
#include "kernels/kernel_params.h"

namespace slingshot {

enum class Mode {
  kInference,  // batch norm uses running statistics
  kTrain,      // batch norm uses batch statistics and records them in the cache
};

// Which float kernels a pass uses. Double passes always use the reference kernels.
enum class KernelPath {
  kRef,   // portable scalar reference kernels (the oracle)
  kSimd,  // Highway kernels: WASM SIMD128 in the browser, best native target natively
  // kSimd, with 3x3 stride-1 convolutions by Winograd F(4x4, 3x3): about 2.7x fewer
  // multiply-adds but ~10x the rounding error (conv2d_winograd_f32__simd.h). For attack
  // gradients, whose direction is all that matters; never for predictions or training.
  kSimdWinograd,
};

// True for the paths that run the Highway kernels.
inline bool uses_simd(KernelPath k) { return k != KernelPath::kRef; }

// The shared kernel scratch, grown to at least `count` elements and never shrunk: layers
// of different sizes share it, and a vector that shrinks and regrows zero-fills the
// difference on every layer of every pass.
template <class T>
T* scratch_at_least(std::vector<T>* scratch, size_t count) {
  if (scratch->size() < count) scratch->resize(count);
  return scratch->data();
}

template <class T>
struct ForwardArgs {
  std::span<const TensorT<T>* const> inputs;  // one per graph edge, in declaration order
  TensorT<T>* output;                          // resized by the layer
  std::vector<TensorT<T>>* cache;              // layer-private values kept for backward
  std::vector<T>* scratch;                     // reusable kernel scratch, resized by the layer
  Mode mode;                                   // inference or training statistics
  KernelPath kernels;                          // which float kernels to use
  FusedRelu relu = {};                         // a following ReLU the graph folded in (see fuses_relu)
  const TensorT<T>* residual = nullptr;        // the other operand of a following add the graph
                                               // folded in, added before the ReLU (see fuses_add)
};

template <class T>
struct BackwardArgs {
  std::span<const TensorT<T>* const> inputs;   // the inputs forward saw
  const TensorT<T>* output;                     // the output forward produced
  const TensorT<T>* grad_output;                // dL/d(output)
  std::span<TensorT<T>* const> grad_inputs;     // dL/d(input i), overwritten; null entries are skipped
  std::span<TensorT<T>> grad_params;            // dL/d(param k), overwritten, same order as params()
  const std::vector<TensorT<T>>* cache;         // what forward stored
  std::vector<T>* scratch;                      // reusable kernel scratch
  KernelPath kernels;                           // which float kernels to use
  // Null, or the tensor behind grad_output when the caller no longer needs it: the layer
  // may overwrite it or swap it into a grad input instead of copying (Workspace::hand_off_grads).
  TensorT<T>* spare_grad_output = nullptr;
  // grad_inputs[0] already holds earlier consumers' shares: add to it instead of
  // overwriting (set only for layers whose accumulates_grad_input() is true).
  bool accumulate = false;
};

// A named parameter tensor owned by a layer.
struct Param {
  std::string name;   // "weight", "bias", "gamma", "running_mean", ...
  Tensor value;       // float32 master value
  bool trainable;     // false for buffers such as batch-norm running statistics
};

class Layer {
 public:
  virtual ~Layer() = default;

  // Type name used in the model file, e.g. "conv2d".
  virtual const char* type() const = 0;
  // How many inputs this layer takes (add takes 2, every other layer 1).
  virtual int num_inputs() const { return 1; }

  // Validates input shapes and returns the output shape; the error names the problem.
  virtual Result<Shape> output_shape(std::span<const Shape> inputs) const = 0;
  // Multiply-accumulates of one forward pass for a batch of 1.
  virtual int64_t macs(std::span<const Shape> inputs, const Shape& output) const {
    (void)inputs;
    (void)output;
    return 0;
  }

  // True if forward applies ForwardArgs::relu to its output, so the graph may fold a ReLU
  // that is this layer's only consumer into it (Workspace::fuse_elementwise).
  virtual bool fuses_relu() const { return false; }
  // True if forward adds ForwardArgs::residual to its output (before the folded ReLU), so
  // the graph may fold an add that is this layer's only consumer into it.
  virtual bool fuses_add() const { return false; }
  // True if float backward on `kernels` honours BackwardArgs::accumulate, so the graph can
  // let a node's later consumer add its gradient share in place (no buffer, no add pass).
  virtual bool accumulates_grad_input(KernelPath kernels) const {
    (void)kernels;
    return false;
  }

  virtual Status forward(const ForwardArgs<float>& args) const = 0;
  virtual Status forward(const ForwardArgs<double>& args) const = 0;
  virtual Status backward(const BackwardArgs<float>& args) const = 0;
  virtual Status backward(const BackwardArgs<double>& args) const = 0;

  // Hyper-parameters as JSON (for the model file); parameters travel separately.
  virtual void to_json(nlohmann::json& j) const = 0;
  // Adopts the running statistics a training forward recorded in `cache` (batch norm only).
  virtual void update_running_stats(const std::vector<Tensor>& cache, float momentum) {
    (void)cache;
    (void)momentum;
  }

  std::vector<Param>& params() { return params_; }
  const std::vector<Param>& params() const { return params_; }
  Param* find_param(const std::string& name);
  const Param* find_param(const std::string& name) const;

 protected:
  std::vector<Param> params_;
};

// Implements the four virtual passes by forwarding to templated members
// `forward_t<T>` and `backward_t<T>` of Derived, so each layer writes its math once.
template <class Derived>
class LayerBase : public Layer {
 public:
  Status forward(const ForwardArgs<float>& a) const final { return self().template forward_t<float>(a); }
  Status forward(const ForwardArgs<double>& a) const final { return self().template forward_t<double>(a); }
  Status backward(const BackwardArgs<float>& a) const final { return self().template backward_t<float>(a); }
  Status backward(const BackwardArgs<double>& a) const final { return self().template backward_t<double>(a); }

 private:
  const Derived& self() const { return static_cast<const Derived&>(*this); }
};

// Emits the float and double passes of a layer in its own .cpp, so other files may call
// them on the concrete type without seeing the templated definitions.
#define SLING_INSTANTIATE_LAYER(L)                                            \
  template Status L::forward_t<float>(const ForwardArgs<float>&) const;      \
  template Status L::forward_t<double>(const ForwardArgs<double>&) const;    \
  template Status L::backward_t<float>(const BackwardArgs<float>&) const;    \
  template Status L::backward_t<double>(const BackwardArgs<double>&) const

// Parameter values as T: the float tensor itself for float, a converted copy for double.
template <class T>
const T* param_as(const Tensor& p, std::vector<T>& converted) {
  if constexpr (std::is_same_v<T, float>) {
    (void)converted;
    return p.data();
  } else {
    converted.assign(p.storage().begin(), p.storage().end());
    return converted.data();
  }
}

// Checks a shape's rank and that every dimension is positive and sane; `what` names the layer.
Status require_rank(const Shape& s, int rank, const char* what);
// An NHWC rank-4 shape as kernel dims (the caller has checked the rank).
inline Dims4 to_dims4(const Shape& s) {
  return {static_cast<int32_t>(s[0]), static_cast<int32_t>(s[1]), static_cast<int32_t>(s[2]),
          static_cast<int32_t>(s[3])};
}

}  // namespace slingshot
