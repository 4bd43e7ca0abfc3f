// Engine names and the factory.
#include "engine/engine.h"

namespace slingshot {
namespace {

constexpr EngineKind kAll[] = {EngineKind::kFloat, EngineKind::kFakeQuant, EngineKind::kInt8Ref,
                               EngineKind::kInt8Simd, EngineKind::kXnnpack};

bool built_in(EngineKind k) {
#if defined(SLING_HAVE_XNNPACK)
  (void)k;
  return true;
#else
  return k != EngineKind::kXnnpack;
#endif
}

}  // namespace

const char* engine_name(EngineKind k) {
  switch (k) {
    case EngineKind::kFloat: return "float";
    case EngineKind::kFakeQuant: return "fakequant";
    case EngineKind::kInt8Ref: return "int8-ref";
    case EngineKind::kInt8Simd: return "int8-simd";
    case EngineKind::kXnnpack: return "xnnpack";
  }
  return "?";
}

const char* engine_doc(EngineKind k) {
  switch (k) {
    case EngineKind::kFloat: return "float32 master graph: what float-side evaluation sees";
    case EngineKind::kFakeQuant: return "float with quantize-dequantize nodes: the QAT view of the integer model";
    case EngineKind::kInt8Ref: return "portable scalar integer kernels, bit-exact with TFLite Micro";
    case EngineKind::kInt8Simd: return "SIMD integer kernels (WASM SIMD128, SSE4/AVX2), bit-exact with int8-ref";
    case EngineKind::kXnnpack: return "XNNPACK (native only); may differ from int8-ref by one LSB at ties";
  }
  return "?";
}

Result<EngineKind> parse_engine(std::string_view name) {
  std::string known;
  for (EngineKind k : kAll) {
    if (name == engine_name(k)) {
      if (!built_in(k)) return unimplemented(std::string("engine '") + engine_name(k) + "' is not part of this build");
      return k;
    }
    if (built_in(k)) known += std::string(known.empty() ? "" : ", ") + engine_name(k);
  }
  return invalid_argument("unknown engine '" + std::string(name) + "' (available: " + known + ")");
}

std::vector<EngineKind> available_engines() {
  std::vector<EngineKind> out;
  for (EngineKind k : kAll)
    if (built_in(k)) out.push_back(k);
  return out;
}

bool is_integer_engine(EngineKind k) {
  return k == EngineKind::kInt8Ref || k == EngineKind::kInt8Simd || k == EngineKind::kXnnpack;
}

Result<std::unique_ptr<Engine>> make_engine(EngineKind kind, const QuantizedModel& model) {
  if (kind != EngineKind::kFloat && model.nodes.empty())
    return invalid_argument(std::string("engine '") + engine_name(kind) +
                            "' needs a quantized model; this one is float only (run `slingshot quantize` first)");
  switch (kind) {
    case EngineKind::kFloat: return make_float_engine(model);
    case EngineKind::kFakeQuant: return make_fake_quant_engine(model);
    case EngineKind::kInt8Ref: return make_int8_engine(model, false);
    case EngineKind::kInt8Simd: return make_int8_engine(model, true);
    case EngineKind::kXnnpack:
      if (!built_in(kind)) return unimplemented("engine 'xnnpack' is not part of this build");
      return make_xnnpack_engine(model);
  }
  return internal_error("unknown engine kind");
}

#if !defined(SLING_HAVE_XNNPACK)
Result<std::unique_ptr<Engine>> make_xnnpack_engine(const QuantizedModel&) {
  return unimplemented("engine 'xnnpack' is not part of this build");
}
#endif

}  // namespace slingshot
