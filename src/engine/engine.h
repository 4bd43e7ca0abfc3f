// Engines: the interchangeable ways to run one quantized model. Every engine maps float
// inputs in the model's input domain (images in [0, 1]) to float logits, so they can be
// cross-checked and swapped under attacks, defenses and reports.
//   float      the BN-folded float master graph (where transfer gradients come from)
//   fakequant  the float mirror with quantize-dequantize nodes (STE gradients)
//   int8-ref   portable scalar integer kernels, TFLite Micro / CMSIS-NN exact
//   int8-simd  Highway integer kernels, bit-exact with int8-ref
//   xnnpack    Debian's XNNPACK (native only; fp32 requantization, so near-exact)
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "quant/quantized_model.h"

namespace slingshot {

enum class EngineKind { kFloat, kFakeQuant, kInt8Ref, kInt8Simd, kXnnpack };

const char* engine_name(EngineKind kind);
// One line for listings.
const char* engine_doc(EngineKind kind);
// Parses "float", "fakequant", "int8-ref", "int8-simd" or "xnnpack"; the error lists them
// and says when an engine is not part of this build.
Result<EngineKind> parse_engine(std::string_view name);
// The engines this build has (xnnpack natively only).
std::vector<EngineKind> available_engines();
// Whether the engine runs the integer model (and so needs quantization parameters).
bool is_integer_engine(EngineKind kind);

class Engine {
 public:
  virtual ~Engine() = default;
  virtual EngineKind kind() const = 0;
  // x: [N, input_shape...]; logits: resized to [N, output_shape...]. Not thread-safe:
  // an engine keeps its buffers between calls; use one engine per thread.
  virtual Status predict(const Tensor& x, Tensor& logits) = 0;
};

// Builds an engine over `model`, which must outlive it. Integer and fake-quant engines
// need a quantized model; a float-only model (no quantization) runs on `float` only.
Result<std::unique_ptr<Engine>> make_engine(EngineKind kind, const QuantizedModel& model);

// The int8 codes every op of the integer program writes, for a batch x (int8-ref
// kernels): what per-layer metrics such as the quantization value shift compare.
struct Int8LayerCodes {
  std::string name;             // the graph node the op produces ("input": the quantized input)
  std::vector<int8_t> codes;    // [N, per-sample elements], NHWC
};
Result<std::vector<Int8LayerCodes>> int8_layer_codes(const QuantizedModel& model, const Tensor& x);

// Factories of the individual engines (one file each).
Result<std::unique_ptr<Engine>> make_float_engine(const QuantizedModel& model);
Result<std::unique_ptr<Engine>> make_fake_quant_engine(const QuantizedModel& model);
Result<std::unique_ptr<Engine>> make_int8_engine(const QuantizedModel& model, bool simd);
Result<std::unique_ptr<Engine>> make_xnnpack_engine(const QuantizedModel& model);

}  // namespace slingshot
