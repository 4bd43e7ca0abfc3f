// Embind bindings for the web front end: the one file that includes emscripten/bind.h.
//
// Tensors and files cross the boundary in bulk as typed arrays; results come back as
// plain JS objects, so nothing here needs delete() from JS. Loaded models live in a
// C++-side registry keyed by integer ids (loadModel / unloadModel). A failed Status
// becomes a JS Error carrying the core's message. The message is copied to a static
// buffer and every C++ object (emscripten::val handles included) is destroyed before the
// throw, because a JS exception unwinds the wasm stack without running destructors.
//
// API v2 (docs/js-api.md): engines, gradientSources, attacks, defenses (registry listings
// with parameter schemas), loadModel, unloadModel, modelCount, decodeImage, decodeWav,
// predict, runAttack, robustnessCurve, audioFeatures, cHeader. The v1 functions the page and bench/ use stay as they were.
#include <emscripten.h>
#include <emscripten/bind.h>
#include <emscripten/heap.h>
#include <emscripten/val.h>

#include <algorithm>
#include <chrono>
#include <malloc.h>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "attacks/attack_report.h"
#include "attacks/evaluate.h"
#include "attacks/observed_target.h"
#include "attacks/target_builder.h"
#include "core/rng.h"
#include "data/image_io.h"
#include "data/mfcc.h"
#include "data/wav.h"
#include "defenses/preprocessor.h"
#include "core/version.h"
#include "engine/engine.h"
#include "export/c_header.h"
#include "metrics/robustness_curve.h"
#include "model/builders.h"
#include "model/model_file.h"
#include "tflite/tflite_import.h"

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

// ---------------------------------------------------------------------------------------
// API v2: registry listings with schemas, a model registry, decoding, predict, attacks.

// Runs `body` (returning Result<val>) and throws its error after every C++ object it made
// is gone: the only way v2 functions fail.
template <typename Body>
val value_or_throw(Body&& body) {
  {
    Result<val> result = body();
    if (result.ok()) return *result;
    set_error(result.status());
  }
  throw_js_error(g_error_message);
  return val::undefined();
}

std::string js_type(const val& v) {
  if (v.isNull()) return "null";
  if (val::global("Array").call<bool>("isArray", v)) return "array";
  return v.typeOf().as<std::string>();
}
bool is_absent(const val& v) { return v.isUndefined() || v.isNull(); }

Result<double> js_number(const val& v, const std::string& what) {
  if (js_type(v) != "number") return invalid_argument(what + " must be a number, got " + js_type(v));
  const double d = v.as<double>();
  if (std::isnan(d)) return invalid_argument(what + " is NaN");
  return d;
}

Result<int64_t> js_integer(const val& v, const std::string& what, double lo, double hi) {
  SLING_ASSIGN_OR_RETURN(const double d, js_number(v, what));
  if (d != std::floor(d) || d < lo || d > hi)
    return invalid_argument(what + " must be a whole number in [" + std::to_string(static_cast<int64_t>(lo)) + ", " +
                            std::to_string(static_cast<int64_t>(hi)) + "], got " + std::to_string(d));
  return static_cast<int64_t>(d);
}

Result<std::string> js_string(const val& v, const std::string& what) {
  if (js_type(v) != "string") return invalid_argument(what + " must be a string, got " + js_type(v));
  return v.as<std::string>();
}

Result<bool> js_bool(const val& v, const std::string& what) {
  if (js_type(v) == "boolean") return v.as<bool>();
  if (js_type(v) == "number" && (v.as<double>() == 0 || v.as<double>() == 1)) return v.as<double>() == 1;
  return invalid_argument(what + " must be true or false, got " + js_type(v));
}

// Bytes of a Uint8Array (any typed array or ArrayBuffer is read as its raw bytes).
Result<std::string> js_bytes(const val& v, const std::string& what, size_t max_bytes) {
  const bool view = val::global("ArrayBuffer").call<bool>("isView", v);
  const bool buffer = !view && v.instanceof(val::global("ArrayBuffer"));
  if (!view && !buffer) return invalid_argument(what + " must be a Uint8Array or ArrayBuffer, got " + js_type(v));
  const val bytes = view ? val::global("Uint8Array").new_(v["buffer"], v["byteOffset"], v["byteLength"])
                         : val::global("Uint8Array").new_(v);
  const double length = bytes["length"].as<double>();
  if (length > static_cast<double>(max_bytes))
    return invalid_argument(what + " holds " + std::to_string(static_cast<int64_t>(length)) + " bytes, more than the " +
                            std::to_string(max_bytes >> 20) + " MB accepted");
  std::string out(static_cast<size_t>(length), '\0');
  val(emscripten::typed_memory_view(out.size(), reinterpret_cast<uint8_t*>(out.data()))).call<void>("set", bytes);
  return out;
}

// Numbers of a Float32Array (or any typed array or array of numbers).
Result<std::vector<float>> js_floats(const val& v, const std::string& what, size_t max_length) {
  const bool array_like = val::global("ArrayBuffer").call<bool>("isView", v) || js_type(v) == "array";
  if (!array_like) return invalid_argument(what + " must be a Float32Array, got " + js_type(v));
  const double length = v["length"].isUndefined() ? -1 : v["length"].as<double>();
  if (length < 0 || length > static_cast<double>(max_length))
    return invalid_argument(what + " must hold at most " + std::to_string(max_length) + " numbers");
  std::vector<float> out(static_cast<size_t>(length));
  val(emscripten::typed_memory_view(out.size(), out.data())).call<void>("set", v);
  return out;
}

val float32_array(const float* data, size_t n) {
  val out = val::global("Float32Array").new_(static_cast<double>(n));
  out.call<void>("set", val(emscripten::typed_memory_view(n, data)));
  return out;
}

val string_array(const std::vector<std::string>& items) {
  val a = val::array();
  for (size_t i = 0; i < items.size(); ++i) a.set(i, items[i]);
  return a;
}

// A ParamSpec: {name, type, default, min, max, minExclusive, maxExclusive, allowInfinity,
// choices, unit, doc}. Defaults chosen at run time are null; choices default by name.
val param_spec_to_js(const SettingSpec& s) {
  val o = val::object();
  o.set("name", s.name);
  o.set("type", std::string(setting_kind_name(s.kind)));
  const bool fixed = has_fixed_default(s);
  switch (s.kind) {
    case SettingKind::kChoice:
      o.set("choices", string_array(s.choices));
      o.set("default", fixed && s.default_value < s.choices.size() ? val(s.choices[static_cast<size_t>(s.default_value)])
                                                                   : val::null());
      break;
    case SettingKind::kBoolean: o.set("default", fixed ? val(s.default_value != 0) : val::null()); break;
    default:
      o.set("default", fixed ? val(s.default_value) : val::null());
      o.set("min", s.min);
      o.set("max", s.max);
      o.set("minExclusive", s.min_exclusive);
      o.set("maxExclusive", s.max_exclusive);
      o.set("allowInfinity", std::isinf(s.max) && !s.max_exclusive);
  }
  o.set("unit", s.unit);
  o.set("doc", s.doc);
  return o;
}

val param_specs_to_js(const std::vector<SettingSpec>& specs) {
  val a = val::array();
  for (size_t i = 0; i < specs.size(); ++i) a.set(i, param_spec_to_js(specs[i]));
  return a;
}

val list_engines() {
  val a = val::array();
  const std::vector<EngineKind> kinds = available_engines();
  for (size_t i = 0; i < kinds.size(); ++i) {
    val e = val::object();
    e.set("name", std::string(engine_name(kinds[i])));
    e.set("integer", is_integer_engine(kinds[i]));
    e.set("doc", std::string(engine_doc(kinds[i])));
    a.set(i, e);
  }
  return a;
}

val list_gradient_sources() {
  val a = val::array();
  unsigned i = 0;
  for (GradientSource s : {GradientSource::kFloat, GradientSource::kSte, GradientSource::kFd, GradientSource::kBpda,
                           GradientSource::kEot}) {
    val g = val::object();
    g.set("name", std::string(gradient_source_name(s)));
    // bpda and eot are the sources of defended targets; the others the model's own.
    g.set("defended", s == GradientSource::kBpda || s == GradientSource::kEot);
    g.set("doc", std::string(gradient_source_doc(s)));
    a.set(i++, g);
  }
  return a;
}

val list_attacks() {
  val a = val::array();
  unsigned i = 0;
  for (const std::string& name : input_attack_names()) {
    auto attack = make_attack(name);
    if (!attack.ok()) continue;  // every input attack's name makes it
    const Attack& at = **attack;
    val o = val::object();
    o.set("name", name);
    o.set("family", std::string(attack_family_name(at.family())));
    o.set("doc", attack_doc(name));
    std::vector<std::string> norms;
    for (Norm n : at.norms()) norms.push_back(norm_name(n));
    o.set("norms", string_array(norms));
    // What each norm's eps starts at (Linf 8/255, L2 0.5, ...), so a form can switch
    // its eps when the norm changes.
    val eps_defaults = val::object();
    for (Norm n : at.norms()) eps_defaults.set(norm_name(n), default_eps(n));
    o.set("defaultEps", eps_defaults);
    o.set("blackBox", at.black_box());
    o.set("acceptsUnboundedEps", at.accepts_unbounded_eps());
    o.set("needsReference", at.needs_reference());
    o.set("trainsOnDataset", at.trains_on_dataset());
    o.set("defaultMaxIter", at.default_max_iter());
    o.set("params", param_specs_to_js(attack_parameters(at)));
    a.set(i++, o);
  }
  return a;
}

val list_defenses() {
  val a = val::array();
  unsigned i = 0;
  for (const PreprocessorInfo& info : preprocessor_registry()) {
    auto made = make_preprocessor(info.name);  // the defaults
    val o = val::object();
    o.set("name", info.name);
    o.set("doc", info.doc);
    o.set("randomized", made.ok() && (*made)->randomized());
    o.set("differentiable", made.ok() && (*made)->differentiable());
    o.set("params", param_specs_to_js(info.settings));
    a.set(i++, o);
  }
  return a;
}

// ---- the model registry ----

struct LoadedModel {
  std::string name;
  QuantizedModel model;
  ModelInputKind kind = ModelInputKind::kImage;
  nlohmann::json tflite_card;  // imported .tflite files: the importer's card; else null
  // predict()'s targets by engine name, built on first use: building one (engine buffers,
  // packed filters) costs about as much as an int8 inference.
  std::map<std::string, std::unique_ptr<Target>> predict_targets;
};

std::map<int, std::unique_ptr<LoadedModel>>& loaded_models() {
  static std::map<int, std::unique_ptr<LoadedModel>> models;
  return models;
}
int g_next_model_id = 1;

Result<LoadedModel*> find_model(const val& id, const std::string& what) {
  SLING_ASSIGN_OR_RETURN(const int64_t key, js_integer(id, what, 0, 2147483647.0));
  auto it = loaded_models().find(static_cast<int>(key));
  if (it == loaded_models().end()) return not_found("no loaded model has id " + std::to_string(key));
  return it->second.get();
}

val model_info(int id, const LoadedModel& m) {
  val d = describe(m.model.graph);  // layers, params, macs, shapes
  const bool quantized = !m.model.nodes.empty();
  d.set("id", id);
  d.set("name", m.name);
  d.set("modelInputShape", d["inputShape"]);
  d.set("inputShape", shape_to_js(attack_input_shape(m.model, m.kind)));
  d.set("inputKind", std::string(m.kind == ModelInputKind::kKeywords ? "keywords" : "image"));
  d.set("classes", static_cast<int>(m.model.graph.output_shape()[0]));
  d.set("quantized", quantized);
  d.set("weightScheme", quantized ? val(std::string(weight_scheme_name(m.model.weights))) : val::null());
  d.set("activationBits", quantized ? val(m.model.activation_bits) : val::null());
  const Footprint f = footprint(m.model);
  val fp = val::object();
  fp.set("weightCount", static_cast<double>(f.weight_count));
  fp.set("weightBytes", static_cast<double>(f.weight_bytes));
  fp.set("biasBytes", static_cast<double>(f.bias_bytes));
  fp.set("scaleBytes", static_cast<double>(f.scale_bytes));
  fp.set("floatBytes", static_cast<double>(f.float_bytes));
  fp.set("totalBytes", static_cast<double>(f.total_bytes()));
  d.set("footprint", fp);
  // Imported TFLite files: where they came from and how their input was mapped.
  const bool imported = !m.tflite_card.is_null();
  d.set("source", std::string(imported ? "tflite" : "slingshot"));
  d.set("engineLabel", std::string(imported ? (quantized ? "imported int8 (TFLite)" : "imported float (TFLite)")
                                            : (quantized ? "quantized (Slingshot)" : "float (Slingshot)")));
  d.set("inputMapping", imported ? val::global("JSON").call<val>("parse", m.tflite_card["tflite"]["input_mapping"].dump())
                                 : val::null());
  return d;
}

val load_model_bytes(const val& bytes, const std::string& name) {
  return value_or_throw([&]() -> Result<val> {
    SLING_ASSIGN_OR_RETURN(const std::string data, js_bytes(bytes, "model bytes", size_t{256} << 20));
    auto loaded = std::make_unique<LoadedModel>();
    Result<QuantizedModel> model = invalid_argument("no model");
    if (is_tflite_model(data)) {
      // A .tflite file, imported here with its float shadow built on demand (fakequant).
      auto imported = import_tflite(data);
      if (!imported.ok()) return imported.status().with_context("TFLite model '" + name + "'");
      loaded->tflite_card = std::move(imported->card);
      model = std::move(imported->model);
    } else {
      auto contents = parse_model_contents(data);
      if (!contents.ok())
        return contents.status().with_context("model '" + name + "' (neither a Slingshot model file nor a .tflite file)");
      model = any_model_from_contents(std::move(*contents), /*allow_float=*/true);
      if (!model.ok()) return model.status().with_context("model '" + name + "'");
    }
    SLING_ASSIGN_OR_RETURN(loaded->kind, model_input_kind(*model, name));
    loaded->name = name;
    loaded->model = std::move(*model);
    const int id = g_next_model_id++;
    val info = model_info(id, *loaded);
    loaded_models()[id] = std::move(loaded);
    return info;
  });
}

val unload_model_id(const val& id) {
  return value_or_throw([&]() -> Result<val> {
    SLING_ASSIGN_OR_RETURN(LoadedModel * m, find_model(id, "model id"));
    (void)m;
    loaded_models().erase(id.as<int>());
    return val(true);
  });
}

int loaded_model_count() { return static_cast<int>(loaded_models().size()); }

// The wasm heap's size and the bytes malloc has handed out: what leak checks compare.
val memory_stats() {
  val o = val::object();
  o.set("heapBytes", static_cast<double>(emscripten_get_heap_size()));
  o.set("allocatedBytes", static_cast<double>(mallinfo().uordblks));
  return o;
}

// ---- decoding ----

val decode_image_js(const val& bytes, int height, int width, int channels) {
  return value_or_throw([&]() -> Result<val> {
    if (channels != 1 && channels != 3) return invalid_argument("channels must be 1 or 3, got " + std::to_string(channels));
    SLING_ASSIGN_OR_RETURN(const std::string data, js_bytes(bytes, "image bytes", size_t{64} << 20));
    if (data.empty()) return invalid_argument("the image file is empty");
    SLING_ASSIGN_OR_RETURN(const Tensor image, decode_image(data, channels));
    SLING_ASSIGN_OR_RETURN(const Tensor fitted, fit_image(image, height, width));
    return float32_array(fitted.data(), static_cast<size_t>(fitted.numel()));
  });
}

val decode_wav_js(const val& bytes) {
  return value_or_throw([&]() -> Result<val> {
    SLING_ASSIGN_OR_RETURN(const std::string data, js_bytes(bytes, "WAV bytes", static_cast<size_t>(kMaxWavFileBytes)));
    SLING_ASSIGN_OR_RETURN(Waveform wave, decode_wav(data));
    const MfccConfig mfcc;
    if (wave.sample_rate != mfcc.sample_rate)
      return invalid_argument("the clip is sampled at " + std::to_string(wave.sample_rate) +
                              " Hz; keyword models take " + std::to_string(mfcc.sample_rate) + " Hz mono");
    // As the keyword loaders: zero-padded or cut to one second, on the 16-bit grid.
    wave.samples.resize(static_cast<size_t>(mfcc.clip_samples), 0.0f);
    const InputDomain grid = waveform_domain();
    for (float& s : wave.samples) s = grid.snap(s);
    return float32_array(wave.samples.data(), wave.samples.size());
  });
}

// ---- predict and attacks ----

// One input of `m` from JS, checked against the model's attack input shape.
Result<Tensor> input_from_js(const val& input, const LoadedModel& m) {
  const Shape shape = attack_input_shape(m.model, m.kind);
  const int64_t want = shape_numel(shape);
  SLING_ASSIGN_OR_RETURN(std::vector<float> values, js_floats(input, "input", size_t{1} << 26));
  if (static_cast<int64_t>(values.size()) != want)
    return invalid_argument("input holds " + std::to_string(values.size()) + " values but model '" + m.name + "' takes " +
                            shape_to_string(shape) + " = " + std::to_string(want) +
                            (m.kind == ModelInputKind::kKeywords ? " waveform samples" : ""));
  return Tensor(with_batch(1, shape), std::move(values));
}

val predict_one(const val& model_id, const val& input, const std::string& engine) {
  return value_or_throw([&]() -> Result<val> {
    SLING_ASSIGN_OR_RETURN(LoadedModel * m, find_model(model_id, "model id"));
    SLING_ASSIGN_OR_RETURN(const Tensor x, input_from_js(input, *m));
    std::unique_ptr<Target>& target = m->predict_targets[engine];
    if (!target) {
      TargetRecipe recipe;
      recipe.engine = engine;
      recipe.grad = "float";  // predict needs no gradient; float is the cheapest to set up
      auto made = make_recipe_model_target(m->model, m->name, recipe);
      if (!made.ok()) {
        m->predict_targets.erase(engine);
        return made.status();
      }
      target = std::move(*made);
    }
    Tensor logits;
    SLING_RETURN_IF_ERROR(target->predict(x, logits));
    const int64_t k = logits.numel();
    std::vector<float> probabilities(static_cast<size_t>(k));
    const float top = *std::max_element(logits.data(), logits.data() + k);
    double sum = 0;
    for (int64_t i = 0; i < k; ++i) sum += probabilities[i] = std::exp(logits[i] - top);
    for (float& p : probabilities) p = static_cast<float>(p / sum);
    val r = val::object();
    r.set("engine", target->engine_name());
    r.set("logits", float32_array(logits.data(), static_cast<size_t>(k)));
    r.set("probabilities", float32_array(probabilities.data(), probabilities.size()));
    r.set("top1", top1_class(logits, 0));
    return r;
  });
}

// A norm given as "inf"/"2"/"l2"... or as a number (Infinity, 2, 1, 0).
Result<Norm> norm_from_js(const val& v) {
  if (js_type(v) == "number") {
    const double d = v.as<double>();
    if (std::isinf(d) && d > 0) return Norm::kLinf;
    if (d != std::floor(d) || d < 0 || d > 2) return invalid_argument("params.norm must be Infinity, 2, 1 or 0, got " + std::to_string(d));
    return parse_norm(std::to_string(static_cast<int>(d)));
  }
  SLING_ASSIGN_OR_RETURN(const std::string s, js_string(v, "params.norm"));
  return parse_norm(s);
}

// An eps-like value: a number (Infinity allowed where the attack takes it) or a string
// such as "8/255" or "inf".
Result<float> eps_from_js(const val& v, const std::string& what) {
  if (js_type(v) == "string") {
    auto parsed = parse_eps(v.as<std::string>());
    if (!parsed.ok()) return parsed.status().with_context(what);
    return parsed;
  }
  SLING_ASSIGN_OR_RETURN(const double d, js_number(v, what));
  return static_cast<float>(d);
}

// request.params -> AttackParams. Shared names fill their fields; every other key is an
// attack setting (numbers, fractions as strings, choice names, booleans), which
// Attack::validate then checks against the attack's schema.
Result<AttackParams> attack_params_from_js(const val& params, const Attack& attack) {
  AttackParams p;
  p.max_iter = attack.default_max_iter();
  p.batch_size = 1;
  p.norm = attack.norms().front();
  p.eps = default_eps(p.norm);
  if (is_absent(params)) return p;
  if (js_type(params) != "object") return invalid_argument("request.params must be an object, got " + js_type(params));
  const val keys = val::global("Object").call<val>("keys", params);
  const std::vector<SettingSpec> specs = attack.settings();
  bool targeted_given = false, eps_given = false;
  for (unsigned i = 0; i < keys["length"].as<unsigned>(); ++i) {
    const std::string key = keys[i].as<std::string>();
    const val v = params[key];
    const std::string what = "params." + key;
    if (is_absent(v)) continue;
    if (key == "norm") {
      SLING_ASSIGN_OR_RETURN(p.norm, norm_from_js(v));
    } else if (key == "eps") {
      SLING_ASSIGN_OR_RETURN(p.eps, eps_from_js(v, what));
      eps_given = true;
    } else if (key == "eps_step") {
      SLING_ASSIGN_OR_RETURN(p.eps_step, eps_from_js(v, what));
    } else if (key == "max_iter") {
      SLING_ASSIGN_OR_RETURN(const int64_t n, js_integer(v, what, 1, 1e7));
      p.max_iter = static_cast<int>(n);
    } else if (key == "num_random_init") {
      SLING_ASSIGN_OR_RETURN(const int64_t n, js_integer(v, what, 0, 1e6));
      p.num_random_init = static_cast<int>(n);
    } else if (key == "target") {
      SLING_ASSIGN_OR_RETURN(const int64_t n, js_integer(v, what, -1, 1e9));
      p.target = static_cast<int>(n);
    } else if (key == "max_queries") {
      SLING_ASSIGN_OR_RETURN(p.max_queries, js_integer(v, what, 1, 1e12));
    } else if (key == "seed") {
      SLING_ASSIGN_OR_RETURN(const int64_t n, js_integer(v, what, 0, 9007199254740991.0));
      p.seed = static_cast<uint64_t>(n);
    } else if (key == "targeted") {
      SLING_ASSIGN_OR_RETURN(p.targeted, js_bool(v, what));
      targeted_given = true;
    } else if (key == "pixel_valid") {
      SLING_ASSIGN_OR_RETURN(p.pixel_valid, js_bool(v, what));
    } else if (key == "loss") {
      SLING_ASSIGN_OR_RETURN(const std::string name, js_string(v, what));
      SLING_ASSIGN_OR_RETURN(p.loss, parse_loss(name));
    } else {
      const SettingSpec* spec = find_setting(specs, key);
      const std::string type = js_type(v);
      double value = 0;
      if (type == "boolean") {
        value = v.as<bool>() ? 1 : 0;
      } else if (type == "string" && spec && spec->kind == SettingKind::kChoice) {
        const std::string name = v.as<std::string>();
        const auto it = std::find(spec->choices.begin(), spec->choices.end(), name);
        if (it == spec->choices.end()) return invalid_argument(what + ": '" + name + "' is not one of " + describe_range(*spec));
        value = static_cast<double>(it - spec->choices.begin());
      } else {
        SLING_ASSIGN_OR_RETURN(const float number, eps_from_js(v, what));
        value = number;
      }
      p.extra[key] = value;
    }
  }
  // As the CLI's --target: a fixed class implies targeted mode.
  if (!targeted_given && p.target >= 0) p.targeted = true;
  if (!eps_given) p.eps = default_eps(p.norm);  // the norm may have changed from the attack's first
  return p;
}

// What a run may spend, for the progress fraction (an estimate: early stops end sooner).
ProgressBudget progress_budget(const Attack& attack, const AttackParams& p) {
  const SharedParamUse use = attack.shared_params();
  ProgressBudget budget;
  if (use.max_queries) {
    budget.predictions = p.max_queries;
  } else if (use.max_iter) {
    // Minimal-perturbation attacks repeat their iterations per binary-search step.
    const bool searches_c = find_setting(attack.settings(), "binary_search_steps") != nullptr;
    const int64_t searches = searches_c ? static_cast<int64_t>(attack.setting(p, "binary_search_steps")) : 1;
    budget.gradients = static_cast<int64_t>(p.max_iter) * std::max(1, p.num_random_init) * searches;
  }
  return budget;
}

val distortion_to_js(const Distortion& d) {
  val o = val::object();
  o.set("l0", d.l0);
  o.set("l1", d.l1);
  o.set("l2", d.l2);
  o.set("linf", d.linf);
  return o;
}

// An attack that perturbs given inputs (not one that trains on a dataset).
Result<std::unique_ptr<Attack>> make_input_attack(const std::string& name, const std::string& why) {
  SLING_ASSIGN_OR_RETURN(auto attack, make_attack(name));
  if (attack->trains_on_dataset())
    return invalid_argument("attack '" + name + "' trains a universal patch on a training set; " + why +
                            ", so use 'lavan' (a per-image patch) or the CLI");
  return attack;
}

// DIVA's reference (the float master), or null for attacks that need none.
Result<std::unique_ptr<Target>> reference_target(const Attack& attack, const LoadedModel& m) {
  if (!attack.needs_reference()) return std::unique_ptr<Target>();
  if (m.model.nodes.empty())
    return invalid_argument(std::string("attack '") + attack.name() + "' needs a quantized model: '" + m.name +
                            "' is float, so there is nothing to diverge from");
  return make_float_master_target(m.model, m.name);
}

// Pixel-valid attacks start from inputs on the 8-bit image (or 16-bit audio) grid.
Status check_on_grid(const Tensor& x, const Target& target, const LoadedModel& m, const AttackParams& p,
                     const std::string& what) {
  if (!p.pixel_valid || on_domain_grid(x, target.domain())) return Status();
  return invalid_argument(what + " is not " +
                          (m.kind == ModelInputKind::kKeywords ? "16-bit audio (values off the k/32768 grid)"
                                                               : "an 8-bit image (values off the k/255 grid)") +
                          "; decode it with decodeImage/decodeWav, or set params.pixel_valid false");
}

// The target options of a request (or of a curve line): engine, grad, innerGrad,
// eotSamples, fdStep and the defense stack, each optional.
Result<TargetRecipe> target_recipe_from_js(const val& request, const std::string& what) {
  TargetRecipe recipe;
  if (!is_absent(request["engine"])) {
    SLING_ASSIGN_OR_RETURN(recipe.engine, js_string(request["engine"], what + ".engine"));
  }
  if (!is_absent(request["grad"])) {
    SLING_ASSIGN_OR_RETURN(recipe.grad, js_string(request["grad"], what + ".grad"));
  }
  if (!is_absent(request["innerGrad"])) {
    SLING_ASSIGN_OR_RETURN(recipe.inner_grad, js_string(request["innerGrad"], what + ".innerGrad"));
  }
  if (!is_absent(request["eotSamples"])) {
    SLING_ASSIGN_OR_RETURN(const int64_t k, js_integer(request["eotSamples"], what + ".eotSamples", 1, 10000));
    recipe.eot_samples = static_cast<int>(k);
  }
  if (!is_absent(request["fdStep"])) {
    SLING_ASSIGN_OR_RETURN(const double step, js_number(request["fdStep"], what + ".fdStep"));
    recipe.fd_step = static_cast<float>(step);
  }
  const val defense_list = request["defenses"];
  if (!is_absent(defense_list)) {
    if (js_type(defense_list) != "array") return invalid_argument(what + ".defenses must be an array of spec strings");
    for (unsigned i = 0; i < defense_list["length"].as<unsigned>(); ++i) {
      SLING_ASSIGN_OR_RETURN(std::string spec,
                             js_string(defense_list[i], what + ".defenses[" + std::to_string(i) + "]"));
      recipe.defenses.push_back(std::move(spec));
    }
  }
  return recipe;
}

// Forwards progress events to a JS callback at most every 40 ms (and on the first call),
// so a fast attack does not spend its time posting messages; the callback returning false
// cancels the run.
class ProgressThrottle {
 public:
  explicit ProgressThrottle(const val& callback) : callback_(callback), active_(js_type(callback) == "function") {}

  // True when an event should be built and sent now.
  bool due() {
    if (!active_) return false;
    const auto now = std::chrono::steady_clock::now();
    if (sent_ && std::chrono::duration<double, std::milli>(now - last_).count() < kIntervalMs) return false;
    return true;
  }
  // Sends unconditionally (finished curve points are never dropped); false: cancel.
  bool send(const val& event) {
    if (!active_) return true;
    sent_ = true;
    last_ = std::chrono::steady_clock::now();
    return !callback_(event).isFalse();
  }

 private:
  static constexpr double kIntervalMs = 40;
  val callback_;
  bool active_;
  bool sent_ = false;
  std::chrono::steady_clock::time_point last_;
};

val run_attack_request(const val& request, const val& on_progress) {
  return value_or_throw([&]() -> Result<val> {
    if (js_type(request) != "object") return invalid_argument("runAttack expects a request object, got " + js_type(request));
    SLING_ASSIGN_OR_RETURN(LoadedModel * m, find_model(request["modelId"], "request.modelId"));
    SLING_ASSIGN_OR_RETURN(const std::string attack_name, js_string(request["attack"], "request.attack"));
    SLING_ASSIGN_OR_RETURN(auto attack, make_input_attack(attack_name, "runAttack attacks one input"));
    SLING_ASSIGN_OR_RETURN(AttackParams p, attack_params_from_js(request["params"], *attack));

    SLING_ASSIGN_OR_RETURN(TargetRecipe recipe, target_recipe_from_js(request, "request"));
    recipe.seed = p.seed;

    SLING_ASSIGN_OR_RETURN(std::unique_ptr<Target> target, make_recipe_model_target(m->model, m->name, recipe));
    SLING_ASSIGN_OR_RETURN(std::unique_ptr<Target> reference, reference_target(*attack, *m));
    SLING_ASSIGN_OR_RETURN(const std::vector<DefenseDescription> defenses, add_recipe_defenses(recipe, target));
    SLING_RETURN_IF_ERROR(attack->validate(p, target->num_classes()));
    SLING_ASSIGN_OR_RETURN(const Tensor x0, input_from_js(request["input"], *m));
    SLING_ASSIGN_OR_RETURN(const int64_t label, js_integer(request["label"], "request.label", 0, target->num_classes() - 1));
    SLING_RETURN_IF_ERROR(check_on_grid(x0, *target, *m, p, "input"));

    ProgressThrottle throttle(on_progress);
    ObservedTarget observed(
        *target,
        [&](const AttackProgress& pr) {
          if (!throttle.due()) return true;
          val event = val::object();
          event.set("fraction", pr.fraction);
          event.set("iteration", static_cast<double>(pr.calls));
          event.set("queries", static_cast<double>(pr.predictions));
          event.set("gradients", static_cast<double>(pr.gradients));
          event.set("loss", std::isnan(pr.last_loss) ? val::null() : val(pr.last_loss));
          event.set("bestMargin", std::isnan(pr.best_margin) ? val::null() : val(pr.best_margin));
          return throttle.send(event);
        },
        progress_budget(*attack, p));
    const std::vector<int> labels{static_cast<int>(label)};
    observed.set_labels(labels);
    SLING_ASSIGN_OR_RETURN(BatchOutcome out, attack_batch(*attack, observed, x0, labels, 0, p, reference.get()));
    const ExampleRecord& record = out.records.at(0);

    std::vector<float> perturbation(static_cast<size_t>(x0.numel()));
    for (int64_t i = 0; i < x0.numel(); ++i) perturbation[i] = out.x_adv[i] - x0[i];
    nlohmann::json report = {{"attack", attack_name},
                             {"model", m->name},
                             {"engine", target->engine_name()},
                             {"gradient_source", gradient_source_name(target->gradient_source())},
                             {"gradient", gradient_description(*target, recipe.eot_samples)},
                             {"family", attack_family_name(attack->family())},
                             {"params", attack_params_json(p)},
                             {"seconds", out.seconds},
                             {"notes", out.notes},
                             {"examples", nlohmann::json::array({example_record_json(record)})}};
    report.update(attack_summary_json(summarize(out.records), out.counts));
    if (!defenses.empty()) {
      report["defenses"] = nlohmann::json::array();
      for (const DefenseDescription& d : defenses)
        report["defenses"].push_back({{"name", d.name}, {"spec", d.spec}, {"settings", d.settings},
                                      {"randomized", d.randomized}, {"differentiable", d.differentiable}});
      report["inner_gradient_source"] = gradient_source_name(target->inner_gradient_source());
    }
    if (reference)
      report["reference"] = {{"engine", reference->engine_name()},
                             {"clean_prediction", record.reference_clean_prediction},
                             {"adversarial_prediction", record.reference_adversarial_prediction},
                             {"queries", {{"predictions", out.reference_counts.predictions},
                                          {"gradients", out.reference_counts.gradients}}}};

    val r = val::object();
    r.set("adversarial", float32_array(out.x_adv.data(), static_cast<size_t>(out.x_adv.numel())));
    r.set("perturbation", float32_array(perturbation.data(), perturbation.size()));
    r.set("cleanPrediction", record.clean_prediction);
    r.set("adversarialPrediction", record.adversarial_prediction);
    r.set("success", record.success);
    r.set("attacked", record.attacked);
    r.set("distortion", distortion_to_js(record.distortion));
    val queries = val::object();
    queries.set("predictions", static_cast<double>(out.counts.predictions));
    queries.set("gradients", static_cast<double>(out.counts.gradients));
    queries.set("fdEvaluations", static_cast<double>(out.counts.fd_evaluations));
    r.set("queries", queries);
    r.set("seconds", out.seconds);
    r.set("notes", string_array(out.notes));
    r.set("report", val::global("JSON").call<val>("parse", report.dump()));
    return r;
  });
}


// ---- robustness curves ----

val curve_lines_to_js(const std::vector<CurveLine>& lines) {
  val a = val::array();
  for (size_t l = 0; l < lines.size(); ++l) {
    val line = val::object();
    line.set("name", lines[l].name);
    line.set("cleanAccuracy", lines[l].points.empty() ? val::null() : val(lines[l].clean_accuracy));
    val points = val::array();
    for (size_t k = 0; k < lines[l].points.size(); ++k) {
      const CurvePoint& pt = lines[l].points[k];
      val o = val::object();
      o.set("eps", pt.eps);
      o.set("robustAccuracy", pt.robust_accuracy);
      o.set("successRate", pt.success_rate);
      o.set("meanDistortion", distortion_to_js(pt.mean_distortion));
      o.set("seconds", pt.seconds);
      points.set(k, o);
    }
    line.set("points", points);
    a.set(l, line);
  }
  return a;
}

// One line of a curve request: a loaded model on an engine (with its own gradient
// source), attacked through the request's defense stack.
struct CurveLineTargets {
  std::string name;
  std::unique_ptr<Target> target;
  std::unique_ptr<Target> reference;
  std::unique_ptr<ObservedTarget> observed;  // what the curve attacks: target with progress
};

constexpr size_t kMaxCurveLines = 16, kMaxCurveEps = 64, kMaxCurveSamples = 1000;

// robustnessCurve({modelId, attack, params, lines: [{name, modelId?, engine?, grad?}],
// inputs: Float32Array [n * input size], labels: [n], eps: [...], defenses?, innerGrad?,
// eotSamples?, fdStep?}, onProgress). Lines without a modelId use the request's.
val robustness_curve_request(const val& request, const val& on_progress) {
  return value_or_throw([&]() -> Result<val> {
    if (js_type(request) != "object")
      return invalid_argument("robustnessCurve expects a request object, got " + js_type(request));
    SLING_ASSIGN_OR_RETURN(LoadedModel * base, find_model(request["modelId"], "request.modelId"));
    SLING_ASSIGN_OR_RETURN(const std::string attack_name, js_string(request["attack"], "request.attack"));
    SLING_ASSIGN_OR_RETURN(auto attack, make_input_attack(attack_name, "a curve attacks given inputs"));
    if (!attack->bounded_by_eps())
      return invalid_argument("attack '" + attack_name + "' is not bounded by eps, so it has no robustness curve");
    SLING_ASSIGN_OR_RETURN(AttackParams p, attack_params_from_js(request["params"], *attack));
    SLING_ASSIGN_OR_RETURN(const TargetRecipe shared, target_recipe_from_js(request, "request"));
    p.batch_size = 16;  // one engine call per 16 samples, as the CLI's --batch-size

    const val eps_list = request["eps"];
    if (js_type(eps_list) != "array" || eps_list["length"].as<unsigned>() == 0 ||
        eps_list["length"].as<unsigned>() > kMaxCurveEps)
      return invalid_argument("request.eps must be an array of 1 to " + std::to_string(kMaxCurveEps) + " eps values");
    std::vector<float> eps;
    for (unsigned i = 0; i < eps_list["length"].as<unsigned>(); ++i) {
      SLING_ASSIGN_OR_RETURN(const float e, eps_from_js(eps_list[i], "request.eps[" + std::to_string(i) + "]"));
      eps.push_back(e);
    }

    const Shape shape = attack_input_shape(base->model, base->kind);
    const int64_t per = shape_numel(shape);
    SLING_ASSIGN_OR_RETURN(std::vector<float> values, js_floats(request["inputs"], "request.inputs", size_t{1} << 27));
    if (values.empty() || values.size() % static_cast<size_t>(per) != 0)
      return invalid_argument("request.inputs holds " + std::to_string(values.size()) + " values, not a whole number of " +
                              shape_to_string(shape) + " inputs (" + std::to_string(per) + " values each)");
    const size_t n = values.size() / static_cast<size_t>(per);
    if (n > kMaxCurveSamples)
      return invalid_argument("request.inputs holds " + std::to_string(n) + " inputs; a curve takes at most " +
                              std::to_string(kMaxCurveSamples));
    const Tensor x(with_batch(static_cast<int64_t>(n), shape), std::move(values));
    const val label_list = request["labels"];
    const bool labels_array = js_type(label_list) == "array" || val::global("ArrayBuffer").call<bool>("isView", label_list);
    if (!labels_array || label_list["length"].as<size_t>() != n)
      return invalid_argument("request.labels must hold one class per input (" + std::to_string(n) + ")");
    const int classes = static_cast<int>(base->model.graph.output_shape()[0]);
    std::vector<int> labels(n);
    for (unsigned i = 0; i < n; ++i) {
      SLING_ASSIGN_OR_RETURN(const int64_t y, js_integer(label_list[i], "request.labels[" + std::to_string(i) + "]", 0,
                                                         classes - 1));
      labels[i] = static_cast<int>(y);
    }

    const val line_list = request["lines"];
    if (js_type(line_list) != "array" || line_list["length"].as<unsigned>() == 0 ||
        line_list["length"].as<unsigned>() > kMaxCurveLines)
      return invalid_argument("request.lines must be an array of 1 to " + std::to_string(kMaxCurveLines) + " lines");
    const size_t line_count = line_list["length"].as<size_t>();
    std::vector<CurveLineTargets> lines(line_count);
    std::vector<double> line_fraction(line_count, 0.0);
    size_t points_done = 0;
    const size_t total_points = line_count * eps.size();
    double reported_fraction = 0;
    ProgressThrottle throttle(on_progress);
    // Between finished points the fraction is estimated from each line's attack budget,
    // kept inside the current point's share so the bar never runs backwards.
    auto report_estimate = [&]() {
      if (!throttle.due()) return true;
      double sum = 0;
      for (double f : line_fraction) sum += f;
      const double lo = static_cast<double>(points_done) / total_points, hi = static_cast<double>(points_done + 1) / total_points;
      reported_fraction = std::max(reported_fraction, std::clamp(sum / line_count, lo, hi));
      val event = val::object();
      event.set("fraction", reported_fraction);
      return throttle.send(event);
    };
    ProgressBudget budget = progress_budget(*attack, p);
    budget.predictions *= static_cast<int64_t>(n * eps.size());
    budget.gradients *= static_cast<int64_t>(n * eps.size());
    std::vector<CurveTarget> targets;
    for (size_t l = 0; l < line_count; ++l) {
      const std::string what = "request.lines[" + std::to_string(l) + "]";
      const val spec = line_list[static_cast<unsigned>(l)];
      if (js_type(spec) != "object") return invalid_argument(what + " must be an object");
      LoadedModel* m = base;
      if (!is_absent(spec["modelId"])) {
        SLING_ASSIGN_OR_RETURN(m, find_model(spec["modelId"], what + ".modelId"));
      }
      if (attack_input_shape(m->model, m->kind) != shape || static_cast<int>(m->model.graph.output_shape()[0]) != classes)
        return invalid_argument(what + ": model '" + m->name + "' takes " +
                                shape_to_string(attack_input_shape(m->model, m->kind)) + " inputs and " +
                                std::to_string(m->model.graph.output_shape()[0]) + " classes, unlike '" + base->name +
                                "' (" + shape_to_string(shape) + ", " + std::to_string(classes) + ")");
      SLING_ASSIGN_OR_RETURN(const TargetRecipe own, target_recipe_from_js(spec, what));
      TargetRecipe recipe = shared;
      if (!own.engine.empty()) recipe.engine = own.engine;
      if (!own.grad.empty()) recipe.grad = own.grad;
      recipe.seed = p.seed;
      CurveLineTargets& t = lines[l];
      SLING_ASSIGN_OR_RETURN(t.target, make_recipe_model_target(m->model, m->name, recipe));
      SLING_ASSIGN_OR_RETURN(t.reference, reference_target(*attack, *m));
      SLING_RETURN_IF_ERROR(add_recipe_defenses(recipe, t.target).status());
      if (!is_absent(spec["name"])) {
        SLING_ASSIGN_OR_RETURN(t.name, js_string(spec["name"], what + ".name"));
      } else {
        t.name = m->name + " on " + t.target->engine_name();
      }
      t.observed = std::make_unique<ObservedTarget>(
          *t.target,
          [&line_fraction, &report_estimate, l](const AttackProgress& pr) {
            line_fraction[l] = pr.fraction;
            return report_estimate();
          },
          budget);
      targets.push_back({t.name, t.observed.get(), t.reference.get()});
    }
    SLING_RETURN_IF_ERROR(attack->validate(p, classes));
    SLING_RETURN_IF_ERROR(check_on_grid(x, *lines[0].target, *base, p, "request.inputs"));

    const auto started = std::chrono::steady_clock::now();
    SLING_ASSIGN_OR_RETURN(
        const std::vector<CurveLine> curves,
        robustness_curves(*attack, targets, x, labels, eps, p,
                          [&](const std::vector<CurveLine>& so_far, int line, int point, double fraction) {
                            points_done = static_cast<size_t>(std::lround(fraction * total_points));
                            reported_fraction = std::max(reported_fraction, fraction);
                            val event = val::object();
                            event.set("fraction", reported_fraction);
                            event.set("line", line);
                            event.set("point", point);
                            event.set("lines", curve_lines_to_js(so_far));
                            return throttle.send(event);
                          }));
    val r = val::object();
    r.set("attack", attack_name);
    r.set("norm", std::string(norm_name(p.norm)));
    r.set("samples", static_cast<double>(n));
    r.set("eps", val::array(eps.begin(), eps.end()));
    r.set("lines", curve_lines_to_js(curves));
    r.set("params", val::global("JSON").call<val>("parse", attack_params_json(p).dump()));
    r.set("seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return r;
  });
}

// ---- keyword features and C headers ----

// The audio a keyword model hears: {frames, coefficients, melBins, mfcc: Float32Array
// [frames * coefficients], logMel: Float32Array [frames * melBins]} of a 1 s clip.
val audio_features_js(const val& waveform) {
  return value_or_throw([&]() -> Result<val> {
    const MfccConfig cfg;
    SLING_ASSIGN_OR_RETURN(const std::vector<float> samples, js_floats(waveform, "waveform", size_t{1} << 24));
    if (static_cast<int>(samples.size()) != cfg.clip_samples)
      return invalid_argument("waveform holds " + std::to_string(samples.size()) + " samples; the keyword front end takes " +
                              std::to_string(cfg.clip_samples) + " (1 s at 16 kHz)");
    SLING_ASSIGN_OR_RETURN(const Tensor coefficients, mfcc(samples.data(), static_cast<int64_t>(samples.size()), cfg));
    SLING_ASSIGN_OR_RETURN(const Tensor log_mel,
                           log_mel_spectrogram(samples.data(), static_cast<int64_t>(samples.size()), cfg));
    val r = val::object();
    r.set("frames", mfcc_num_frames(cfg));
    r.set("coefficients", cfg.num_coefficients);
    r.set("melBins", cfg.num_mel_bins);
    r.set("mfcc", float32_array(coefficients.data(), static_cast<size_t>(coefficients.numel())));
    r.set("logMel", float32_array(log_mel.data(), static_cast<size_t>(log_mel.numel())));
    return r;
  });
}

val int8_array(const std::vector<int8_t>& codes) {
  val out = val::global("Int8Array").new_(static_cast<double>(codes.size()));
  out.call<void>("set", val(emscripten::typed_memory_view(codes.size(), codes.data())));
  return out;
}

// cHeader(modelId, input, name, comment): the int8 input tensor of `input` (an attack
// input: an 8-bit image, or a waveform whose MFCC features the model reads) and the int8
// output the deployed integer engine must give, as a C header for an MCU test.
val c_header_js(const val& model_id, const val& input, const std::string& name, const std::string& comment) {
  return value_or_throw([&]() -> Result<val> {
    SLING_ASSIGN_OR_RETURN(LoadedModel * m, find_model(model_id, "model id"));
    if (m->model.nodes.empty())
      return invalid_argument("model '" + m->name + "' is float; a C header holds int8 tensors of a quantized model");
    SLING_ASSIGN_OR_RETURN(Tensor x, input_from_js(input, *m));
    if (m->kind == ModelInputKind::kKeywords) {
      SLING_ASSIGN_OR_RETURN(Tensor features, mfcc(x.data(), x.numel()));
      x = Tensor(with_batch(1, m->model.graph.input_shape()),
                 std::vector<float>(features.data(), features.data() + features.numel()));
    } else if (!on_domain_grid(x, image_domain())) {
      return invalid_argument("input is not an 8-bit image (values off the k/255 grid): its int8 codes would not be exact");
    }
    SLING_ASSIGN_OR_RETURN(const InputOutputHeader header, input_output_c_header(m->model, x, name, comment));
    val r = val::object();
    r.set("text", header.text);
    r.set("inputCodes", int8_array(header.input_codes));
    r.set("outputCodes", int8_array(header.output_codes));
    r.set("expectedClass", header.expected_class);
    return r;
  });
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
  // API v2 (docs/js-api.md)
  emscripten::function("engines", &slingshot::list_engines);
  emscripten::function("gradientSources", &slingshot::list_gradient_sources);
  emscripten::function("attacks", &slingshot::list_attacks);
  emscripten::function("defenses", &slingshot::list_defenses);
  emscripten::function("loadModel", &slingshot::load_model_bytes);
  emscripten::function("unloadModel", &slingshot::unload_model_id);
  emscripten::function("modelCount", &slingshot::loaded_model_count);
  emscripten::function("memoryStats", &slingshot::memory_stats);
  emscripten::function("decodeImage", &slingshot::decode_image_js);
  emscripten::function("decodeWav", &slingshot::decode_wav_js);
  emscripten::function("predict", &slingshot::predict_one);
  emscripten::function("runAttack", &slingshot::run_attack_request);
  emscripten::function("robustnessCurve", &slingshot::robustness_curve_request);
  emscripten::function("audioFeatures", &slingshot::audio_features_js);
  emscripten::function("cHeader", &slingshot::c_header_js);
}
