// The fake-quant engine: the float mirror of the integer model (quant/fake_quant_graph.h).
#include "engine/engine.h"
#include "quant/fake_quant_graph.h"

namespace slingshot {
namespace {

class FakeQuantEngine final : public Engine {
 public:
  explicit FakeQuantEngine(Graph graph) : graph_(std::move(graph)) {}
  EngineKind kind() const override { return EngineKind::kFakeQuant; }
  Status predict(const Tensor& x, Tensor& logits) override {
    SLING_RETURN_IF_ERROR(graph_.forward(x, ws_, Mode::kInference, KernelPath::kSimd));
    logits = ws_.output();
    return Status::Ok();
  }

 private:
  Graph graph_;
  Workspace<float> ws_;
};

}  // namespace

Result<std::unique_ptr<Engine>> make_fake_quant_engine(const QuantizedModel& model) {
  SLING_ASSIGN_OR_RETURN(Graph g, build_fake_quant_graph(model));
  return std::unique_ptr<Engine>(new FakeQuantEngine(std::move(g)));
}

}  // namespace slingshot
