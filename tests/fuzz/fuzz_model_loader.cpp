// libFuzzer harness for the model loader (parse_model) under ASan and UBSan.
//
// Besides "never crash", it checks invariants: a failed load has a message; a model that
// loads re-serializes and re-loads to the same bytes; and it runs, at batch 1 on a zero
// input of its declared shape, forward on both kernel paths and backward, without error.
// The pass is skipped when activations or MACs exceed a small cap, so a valid but large
// model cannot make the fuzzer slow or run out of memory.
//
// A custom mutator keeps the safetensors length prefix consistent most of the time: byte
// mutations of a length-prefixed JSON container otherwise almost never get past the
// "header length" check. It mutates, at random, the raw bytes, the header JSON text, the
// graph document inside __metadata__["slingshot"], or the data section.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "model/model_file.h"
#include "quant/quantized_model.h"

using namespace slingshot;

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

constexpr int64_t kMaxActivations = 1 << 16;  // sum over nodes, floats at batch 1
constexpr int64_t kMaxMacs = 1 << 20;

[[noreturn]] void fail(const char* what, const Status& st = Status::Ok()) {
  std::fprintf(stderr, "fuzz_model_loader invariant broken: %s %s\n", what, st.to_string().c_str());
  std::abort();
}

ModelLimits fuzz_limits() {
  ModelLimits l;
  l.max_total_params = 1 << 20;
  l.max_input_elements = 1 << 16;
  l.max_activation_elements = 1 << 20;
  l.max_nodes = 256;
  return l;
}

void run_bounded(const Graph& g) {
  int64_t activations = 0;
  for (int i = 0; i < g.num_nodes(); ++i) activations += shape_numel(g.node(i).output_shape);
  if (activations > kMaxActivations || g.macs() > kMaxMacs) return;
  const Tensor x(with_batch(1, g.input_shape()));
  for (KernelPath path : {KernelPath::kRef, KernelPath::kSimd}) {
    Workspace<float> ws;
    const Status st = g.forward(x, ws, Mode::kInference, path);
    if (!st.ok()) fail("forward on the declared input shape failed:", st);
    if (path == KernelPath::kRef) {
      const Tensor grad(ws.output().shape(), 1.0f);
      const Status bt = g.backward(grad, ws, true, path);
      if (!bt.ok()) fail("backward failed:", bt);
    }
  }
}

// A quantized file (version 2) that loads must re-serialize to the same bytes, lower to
// an int8 program, and give bit-identical logits on int8-ref and int8-simd.
void check_quantized(std::string_view bytes) {
  auto contents = parse_model_contents(bytes, fuzz_limits());
  if (!contents.ok() || contents->quantization.is_null()) return;
  auto m = quantized_model_from_contents(std::move(*contents));
  if (!m.ok()) {
    if (m.status().message().empty()) fail("a quantization error without a message");
    return;
  }
  auto c = quantized_model_to_contents(*m);
  if (!c.ok()) fail("a loaded quantized model does not convert back:", c.status());
  auto again = serialize_model_contents(*c);
  if (!again.ok()) fail("a loaded quantized model does not serialize:", again.status());
  auto reparsed = parse_model_contents(*again, fuzz_limits());
  if (!reparsed.ok()) fail("a re-serialized quantized model does not parse:", reparsed.status());
  auto m2 = quantized_model_from_contents(std::move(*reparsed));
  if (!m2.ok()) fail("a re-serialized quantized model does not validate:", m2.status());
  const Graph& g = m->graph;
  int64_t activations = 0;
  for (int i = 0; i < g.num_nodes(); ++i) activations += shape_numel(g.node(i).output_shape);
  if (activations > kMaxActivations || g.macs() > kMaxMacs) return;
  Tensor x(with_batch(1, g.input_shape()), 0.5f);
  Tensor a, b;
  auto ref = make_engine(EngineKind::kInt8Ref, *m);
  auto simd = make_engine(EngineKind::kInt8Simd, *m);
  if (!ref.ok() || !simd.ok()) {
    // Lowering may refuse a layer with a message (e.g. no integer kernel for it).
    if ((!ref.ok() && ref.status().message().empty()) || (!simd.ok() && simd.status().message().empty()))
      fail("an engine error without a message");
    return;
  }
  const Status sa = (*ref)->predict(x, a);
  const Status sb = (*simd)->predict(x, b);
  if (!sa.ok() || !sb.ok()) fail("an integer engine failed on the declared input shape:", sa.ok() ? sb : sa);
  if (a.storage() != b.storage()) fail("int8-simd and int8-ref disagree");
}

// The container split into its parts; `ok` is false when the length prefix does not fit.
struct Container {
  bool ok = false;
  std::string header;
  std::string data;
};

Container split(const uint8_t* d, size_t n) {
  Container c;
  if (n < 8) return c;
  uint64_t len = 0;
  for (int i = 7; i >= 0; --i) len = (len << 8) | d[i];
  if (len > n - 8) return c;
  c.ok = true;
  c.header.assign(reinterpret_cast<const char*>(d) + 8, len);
  c.data.assign(reinterpret_cast<const char*>(d) + 8 + len, n - 8 - len);
  return c;
}

size_t emit(const std::string& header, const std::string& data, uint8_t* out, size_t max_size) {
  const size_t n = 8 + header.size() + data.size();
  if (n > max_size) return 0;
  const uint64_t len = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(len >> (8 * i));
  std::memcpy(out + 8, header.data(), header.size());
  std::memcpy(out + 8 + header.size(), data.data(), data.size());
  return n;
}

// Mutates a string in place with libFuzzer's own mutators, allowing it to grow a little.
void mutate_string(std::string& s, size_t room) {
  const size_t size = s.size();
  s.resize(size + room);
  const size_t n = LLVMFuzzerMutate(reinterpret_cast<uint8_t*>(s.data()), size, s.size());
  s.resize(n);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto g = parse_model(bytes, nullptr, fuzz_limits());
  if (!g.ok()) {
    if (g.status().message().empty()) fail("an error without a message");
    return 0;
  }
  auto again = serialize_model(*g);
  if (!again.ok()) fail("a loaded model does not serialize:", again.status());
  auto reloaded = parse_model(*again, nullptr, fuzz_limits());
  if (!reloaded.ok()) fail("a re-serialized model does not load:", reloaded.status());
  auto third = serialize_model(*reloaded);
  if (!third.ok() || *third != *again) fail("save/load/save is not byte-identical");
  run_bounded(*g);
  check_quantized(bytes);
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  std::minstd_rand rng(seed);
  const int choice = static_cast<int>(rng() % 10);
  Container c = split(data, size);
  if (choice < 2 || !c.ok) return LLVMFuzzerMutate(data, size, max_size);
  if (choice < 6) {
    mutate_string(c.header, 64);
  } else if (choice < 9) {
    // The graph document is JSON inside a JSON string: mutate it unescaped.
    nlohmann::json header = nlohmann::json::parse(c.header, nullptr, false);
    auto md = header.is_object() ? header.find("__metadata__") : header.end();
    if (md == header.end() || !md->is_object() || !md->contains("slingshot") || !(*md)["slingshot"].is_string()) {
      mutate_string(c.header, 64);
    } else {
      std::string doc = (*md)["slingshot"].get<std::string>();
      mutate_string(doc, 64);
      (*md)["slingshot"] = doc;
      c.header = header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  } else {
    if (c.data.empty()) return LLVMFuzzerMutate(data, size, max_size);
    mutate_string(c.data, 16);
  }
  const size_t n = emit(c.header, c.data, data, max_size);
  return n ? n : LLVMFuzzerMutate(data, size, max_size);
}
