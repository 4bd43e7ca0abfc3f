// The float engine: the BN-folded float master graph on the SIMD float kernels.
#include "engine/engine.h"

namespace slingshot {
namespace {

class FloatEngine final : public Engine {
 public:
  explicit FloatEngine(const Graph& graph) : graph_(graph) {}
  EngineKind kind() const override { return EngineKind::kFloat; }
  Status predict(const Tensor& x, Tensor& logits) override {
    SLING_RETURN_IF_ERROR(graph_.forward(x, ws_, Mode::kInference, KernelPath::kSimd));
    logits = ws_.output();
    return Status::Ok();
  }

 private:
  const Graph& graph_;
  Workspace<float> ws_;
};

}  // namespace

Result<std::unique_ptr<Engine>> make_float_engine(const QuantizedModel& model) {
  return std::unique_ptr<Engine>(new FloatEngine(model.graph));
}

}  // namespace slingshot
