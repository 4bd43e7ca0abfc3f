// Embind bindings for the web front end: the one file that includes emscripten/bind.h.
//
// Tensors and files cross the boundary in bulk as typed arrays; results come back as
// plain JS objects, so nothing here needs delete() from JS. A failed Status becomes a
// JS Error carrying the core's message. The message is copied to a static buffer and
// every C++ object is destroyed before the throw, because a JS exception unwinds the
// wasm stack without running destructors.
#include <emscripten.h>
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/version.h"
#include "engine/engine.h"
#include "model/builders.h"
#include "model/model_file.h"

using emscripten::val;

namespace slingshot {
namespace {

EM_JS(void, throw_js_error, (const char* message), { throw new Error(UTF8ToString(message)); });

char g_error_message[2048];

void set_error(const Status& st) {
  std::snprintf(g_error_message, sizeof(g_error_message), "%s", st.to_string().c_str());
}

val shape_to_js(const Shape& s) {
  val a = val::array();
  for (size_t i = 0; i < s.size(); ++i) a.set(i, static_cast<double>(s[i]));
  return a;
}

// Layer table, parameter count, MACs and shapes of a graph.
val describe(const Graph& g) {
  val layers = val::array();
  for (int i = 1; i < g.num_nodes(); ++i) {
    const Node& n = g.node(i);
    std::vector<Shape> in;
    for (int j : n.inputs) in.push_back(g.node(j).output_shape);
    int64_t params = 0;
    for (const Param& p : n.layer->params()) params += p.value.numel();
    val l = val::object();
    l.set("name", n.name);
    l.set("type", std::string(n.layer->type()));
    l.set("outputShape", shape_to_js(Shape(n.output_shape.begin() + 1, n.output_shape.end())));
    l.set("params", static_cast<double>(params));
    l.set("macs", static_cast<double>(n.layer->macs(in, n.output_shape)));
    layers.set(i - 1, l);
  }
  val d = val::object();
  d.set("inputShape", shape_to_js(g.input_shape()));
  d.set("outputShape", shape_to_js(g.output_shape()));
  d.set("params", static_cast<double>(g.num_params(true)));
  d.set("macs", static_cast<double>(g.macs()));
  d.set("layers", layers);
  return d;
}

Result<Graph> build_default(const std::string& arch) {
  const Shape input = arch == "dscnn" ? Shape{49, 10, 1} : arch == "mobilenet_v1" ? Shape{96, 96, 3} : Shape{32, 32, 3};
  const int classes = arch == "dscnn" ? 12 : arch == "mobilenet_v1" ? 2 : 10;
  SLING_ASSIGN_OR_RETURN(Graph g, build_architecture(arch, classes, input));
  init_params(g, 0);
  return g;
}

val version() { return val(std::string(SLING_VERSION)); }

val architectures() {
  val a = val::array();
  const char* names[] = {"resnet8", "dscnn", "mobilenet_v1", "tiny_cnn"};
  for (int i = 0; i < 4; ++i) a.set(i, std::string(names[i]));
  return a;
}

val describe_architecture(const std::string& arch) {
  {
    auto g = build_default(arch);
    if (g.ok()) return describe(*g);
    set_error(g.status());
  }
  throw_js_error(g_error_message);
  return val::undefined();
}

// Median latency (ms) of a batch-1 float forward pass over `iterations` runs.
val benchmark_forward(const std::string& arch, int iterations, bool simd) {
  {
    Status st;
    if (iterations < 1 || iterations > 1000) st = invalid_argument("iterations must be in [1, 1000]");
    auto g = st.ok() ? build_default(arch) : Result<Graph>(st);
    if (g.ok()) {
      Tensor x(with_batch(1, g->input_shape()), 0.5f);
      Workspace<float> ws;
      std::vector<double> times;
      const KernelPath path = simd ? KernelPath::kSimd : KernelPath::kRef;
      for (int i = 0; i <= iterations && st.ok(); ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        st = g->forward(x, ws, Mode::kInference, path);
        const auto t1 = std::chrono::steady_clock::now();
        if (i > 0) times.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());  // 0 is warm-up
      }
      if (st.ok()) {
        std::sort(times.begin(), times.end());
        val r = val::object();
        r.set("arch", arch);
        r.set("medianMs", times[times.size() / 2]);
        r.set("iterations", iterations);
        r.set("kernels", std::string(simd ? "simd" : "ref"));
        return r;
      }
    } else {
      st = g.status();
    }
    set_error(st);
  }
  throw_js_error(g_error_message);
  return val::undefined();
}

// Parses a model file's bytes (a Uint8Array) and describes it.
val describe_model_file(const val& bytes) {
  {
    Status st;
    const unsigned length = bytes["length"].as<unsigned>();
    if (length > (256u << 20)) {
      st = invalid_argument("model file is larger than 256 MB");
    } else {
      std::vector<uint8_t> buf(length);
      val view = val(emscripten::typed_memory_view(buf.size(), buf.data()));
      view.call<void>("set", bytes);
      // The architecture is all a description needs, so files that store weights only
      // as integer codes (QAT models) are described too.
      auto c = parse_model_contents(std::string_view(reinterpret_cast<const char*>(buf.data()), buf.size()));
      if (c.ok()) return describe(c->graph);
      st = c.status();
    }
    set_error(st);
  }
  throw_js_error(g_error_message);
  return val::undefined();
}

// Latency of a quantized model file (a Uint8Array) on one engine at batch 1, over `runs`
// runs after a warm-up, on the seeded 8-bit image bench_int8_resnet8 uses; also returns
// that image's logits so a page can cross-check another runtime.
val benchmark_quantized_model(const val& bytes, const std::string& engine_name_js, int runs) {
  {
    Status st;
    const unsigned length = bytes["length"].as<unsigned>();
    if (runs < 1 || runs > 100000) st = invalid_argument("runs must be in [1, 100000]");
    if (length > (256u << 20)) st = invalid_argument("model file is larger than 256 MB");
    std::vector<uint8_t> buf(st.ok() ? length : 0);
    if (st.ok()) val(emscripten::typed_memory_view(buf.size(), buf.data())).call<void>("set", bytes);
    Result<ModelContents> contents =
        st.ok() ? parse_model_contents(std::string_view(reinterpret_cast<const char*>(buf.data()), buf.size()))
                : Result<ModelContents>(st);
    Result<QuantizedModel> model =
        contents.ok() ? quantized_model_from_contents(std::move(*contents)) : Result<QuantizedModel>(contents.status());
    Result<EngineKind> kind = model.ok() ? parse_engine(engine_name_js) : Result<EngineKind>(model.status());
    auto engine = kind.ok() ? make_engine(*kind, *model) : Result<std::unique_ptr<Engine>>(kind.status());
    if (engine.ok()) {
      Tensor x(with_batch(1, model->graph.input_shape()));
      Rng rng(7);
      for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(rng.below(256)) / 255.0f;
      Tensor logits;
      std::vector<double> times;
      for (int i = 0; i < std::max(10, runs / 10) && st.ok(); ++i) st = (*engine)->predict(x, logits);
      for (int i = 0; i < runs && st.ok(); ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        st = (*engine)->predict(x, logits);
        times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
      if (st.ok()) {
        std::sort(times.begin(), times.end());
        val r = val::object();
        r.set("engine", engine_name_js);
        r.set("medianMs", times[times.size() / 2]);
        r.set("p10Ms", times[times.size() / 10]);
        r.set("p90Ms", times[times.size() * 9 / 10]);
        r.set("runs", runs);
        val l = val::array();
        for (int64_t i = 0; i < logits.numel(); ++i) l.set(static_cast<unsigned>(i), logits[i]);
        r.set("logits", l);
        return r;
      }
    } else {
      st = engine.status();
    }
    set_error(st);
  }
  throw_js_error(g_error_message);
  return val::undefined();
}

}  // namespace
}  // namespace slingshot

EMSCRIPTEN_BINDINGS(slingshot) {
  emscripten::function("version", &slingshot::version);
  emscripten::function("architectures", &slingshot::architectures);
  emscripten::function("describeArchitecture", &slingshot::describe_architecture);
  emscripten::function("benchmarkForward", &slingshot::benchmark_forward);
  emscripten::function("describeModelFile", &slingshot::describe_model_file);
  emscripten::function("benchmarkQuantizedModel", &slingshot::benchmark_quantized_model);
}
