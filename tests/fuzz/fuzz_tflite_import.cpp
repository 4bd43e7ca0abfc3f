// libFuzzer harness for the TFLite importer (tflite/tflite_import.h) under ASan and UBSan.
//
// Besides "never crash", it checks that a failed import has a message, and that a model
// that imports also runs: at batch 1 on a zero input, on int8-ref and int8-simd (which
// must agree bit for bit) or on the float engine, unless its MACs exceed a small cap, so
// a valid but large model cannot make the fuzzer slow. Seeds: the MLPerf Tiny files when
// ../shared/mlperf-tiny exists, and tests/fuzz/corpus/tflite_import/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/engine.h"
#include "tflite/tflite_import.h"

using namespace slingshot;

namespace {

constexpr int64_t kMaxMacs = int64_t{1} << 24;

[[noreturn]] void fail(const char* what) {
  __builtin_printf("invariant violated: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto imported = import_tflite(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!imported.ok()) {
    if (imported.status().message().empty()) fail("an import failure without a message");
    return 0;
  }
  const QuantizedModel& m = imported->model;
  if (m.graph.macs() > kMaxMacs) return 0;
  Tensor x(with_batch(1, m.graph.input_shape()));
  if (m.nodes.empty()) {
    auto engine = make_engine(EngineKind::kFloat, m);
    if (!engine.ok()) fail("an imported float model has no float engine");
    Tensor y;
    if (!(*engine)->predict(x, y).ok()) fail("an imported float model does not run");
    return 0;
  }
  auto ref = make_engine(EngineKind::kInt8Ref, m);
  auto simd = make_engine(EngineKind::kInt8Simd, m);
  if (!ref.ok() || !simd.ok()) fail("an imported int8 model has no integer engine");
  Tensor a, b;
  if (!(*ref)->predict(x, a).ok() || !(*simd)->predict(x, b).ok()) fail("an imported int8 model does not run");
  if (a.storage() != b.storage()) fail("int8-ref and int8-simd disagree on an imported model");
  return 0;
}
