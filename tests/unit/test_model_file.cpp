// The model file format (docs/model-format.md): bit-exact round trips, the golden file,
// and one test per validation rule asserting the error names the problem.
//
// Golden file. tests/data/golden_tiny_cnn.safetensors is golden_model() serialized; the
// test checks that serializing it again gives the same bytes and that loading it gives
// kGoldenLogits. To regenerate after an intended format change (bump the version if old
// files change meaning), run natively:
//   SLING_REGENERATE_GOLDEN=1 build/native/tests/slingshot_tests --source-file=*test_model_file.cpp
// which rewrites the golden file, its sidecar tests/data/golden_tiny_cnn.expected.json
// (read by tests/tools/read_safetensors.py) and the fuzz seeds in
// tests/fuzz/corpus/model_loader/, and prints the logits to paste into kGoldenLogits.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "model/builders.h"
#include "model/layer_registry.h"
#include "model/model_file.h"

#include <sys/stat.h>
#include <unistd.h>

using namespace slingshot;
using nlohmann::json;

namespace {

const std::string kSourceDir = SLING_SOURCE_DIR;
const std::string kGoldenPath = kSourceDir + "/tests/data/golden_tiny_cnn.safetensors";
const std::string kSidecarPath = kSourceDir + "/tests/data/golden_tiny_cnn.expected.json";
const std::string kCorpusDir = kSourceDir + "/tests/fuzz/corpus/model_loader";

// Logits of the golden model for golden_input(), reference kernels, computed once.
const float kGoldenLogits[3] = {-2.73206162f, -1.76558304f, -0.29225558f};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// Fills every parameter from Rng::uniform, which (unlike init_params' Box-Muller and
// its libm calls) gives the same bits on x86, wasm and Cortex-M, so one golden file
// serves every platform. Batch-norm statistics get non-trivial values too.
void fill_portable(Graph& g, uint64_t seed) {
  Rng rng(seed);
  for (int i = 1; i < g.num_nodes(); ++i)
    for (Param& p : g.node(i).layer->params()) {
      float lo = -0.5f, hi = 0.5f;
      if (p.name == "gamma" || p.name == "running_var") lo = 0.5f, hi = 1.5f;
      if (p.name == "beta" || p.name == "running_mean" || p.name == "bias") lo = -0.2f, hi = 0.2f;
      for (int64_t k = 0; k < p.value.numel(); ++k) p.value[k] = rng.uniform(lo, hi);
    }
}

Graph golden_model() {
  auto g = build_tiny_cnn(3, {8, 8, 3});
  REQUIRE(g.ok());
  fill_portable(*g, 2024);
  return std::move(*g);
}

Tensor golden_input() {
  Rng rng(99);
  Tensor x({1, 8, 8, 3});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = rng.uniform();
  return x;
}

std::unique_ptr<Layer> layer(const std::string& type, const json& config) {
  auto l = make_layer(type, config);
  REQUIRE_MESSAGE(l.ok(), l.status().to_string());
  return std::move(*l);
}

void add(Graph& g, const std::string& name, const std::string& type, const json& config,
         const std::vector<std::string>& inputs) {
  auto r = g.add(name, layer(type, config), inputs);
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
}

// A small model using every layer type at least once, a residual add and a non-last output.
Graph every_layer_model() {
  Graph g({6, 6, 2});
  add(g, "conv", "conv2d",
      {{"in_channels", 2}, {"filters", 4}, {"kernel", {3, 3}}, {"strides", {1, 1}}, {"padding", "same"},
       {"use_bias", true}},
      {"input"});
  add(g, "bn", "batch_norm", {{"channels", 4}, {"epsilon", 0.001}}, {"conv"});
  add(g, "relu", "relu", json::object(), {"bn"});
  add(g, "dw", "depthwise_conv2d",
      {{"channels", 4}, {"kernel", {3, 3}}, {"strides", {2, 2}}, {"padding", "same"}, {"use_bias", true}}, {"relu"});
  add(g, "shortcut", "conv2d",
      {{"in_channels", 4}, {"filters", 4}, {"kernel", {1, 1}}, {"strides", {2, 2}}, {"padding", "valid"},
       {"use_bias", false}},
      {"relu"});
  add(g, "sum", "add", json::object(), {"dw", "shortcut"});
  add(g, "relu6", "relu6", json::object(), {"sum"});
  add(g, "maxp", "max_pool2d", {{"pool", {2, 2}}, {"strides", {1, 1}}, {"padding", "valid"}}, {"relu6"});
  add(g, "avgp", "avg_pool2d", {{"pool", {2, 2}}, {"strides", {1, 1}}, {"padding", "same"}}, {"maxp"});
  add(g, "flat", "flatten", json::object(), {"avgp"});
  add(g, "gap", "global_avg_pool", json::object(), {"relu6"});
  add(g, "logits", "dense", {{"in_features", 16}, {"units", 3}, {"use_bias", true}}, {"flat"});
  add(g, "probs", "softmax", json::object(), {"logits"});
  add(g, "gap_dense", "dense", {{"in_features", 4}, {"units", 2}, {"use_bias", false}}, {"gap"});
  REQUIRE(g.set_output("probs").ok());
  fill_portable(g, 5);
  return g;
}

Graph mlp_model() {
  Graph g({6});
  add(g, "fc1", "dense", {{"in_features", 6}, {"units", 4}, {"use_bias", true}}, {"input"});
  add(g, "act", "relu6", json::object(), {"fc1"});
  add(g, "fc2", "dense", {{"in_features", 4}, {"units", 3}, {"use_bias", true}}, {"act"});
  fill_portable(g, 6);
  return g;
}

std::string serialize(const Graph& g, const json& extra = nullptr) {
  auto bytes = serialize_model(g, extra);
  REQUIRE_MESSAGE(bytes.ok(), bytes.status().to_string());
  return *bytes;
}

// Same bits in every parameter, same topology, hyper-parameters and output.
void check_same_model(const Graph& a, const Graph& b) {
  REQUIRE(a.num_nodes() == b.num_nodes());
  CHECK(a.input_shape() == b.input_shape());
  CHECK(a.output_node() == b.output_node());
  for (int i = 1; i < a.num_nodes(); ++i) {
    const Node& x = a.node(i);
    const Node& y = b.node(i);
    CAPTURE(x.name);
    CHECK(x.name == y.name);
    CHECK(std::string(x.layer->type()) == y.layer->type());
    CHECK(x.inputs == y.inputs);
    CHECK(x.output_shape == y.output_shape);
    json cx = json::object(), cy = json::object();
    x.layer->to_json(cx);
    y.layer->to_json(cy);
    CHECK(cx == cy);
    REQUIRE(x.layer->params().size() == y.layer->params().size());
    for (size_t k = 0; k < x.layer->params().size(); ++k) {
      const Param& p = x.layer->params()[k];
      const Param& q = y.layer->params()[k];
      CHECK(p.name == q.name);
      CHECK(p.trainable == q.trainable);
      REQUIRE(p.value.shape() == q.value.shape());
      CHECK(std::memcmp(p.value.data(), q.value.data(), static_cast<size_t>(p.value.numel()) * 4) == 0);
    }
  }
}

// A model file taken apart: the graph document and the tensors, in data order. Tests
// edit the parts and reassemble a container whose offsets are consistent, so each test
// breaks exactly one rule.
struct Parts {
  json meta;                     // the __metadata__["slingshot"] document
  json md = json::object();      // other __metadata__ entries
  struct T {
    std::string name;
    json shape;
    std::string dtype = "F32";
    std::string bytes;
  };
  std::vector<T> tensors;
};

std::string make_container(const std::string& header_text, const std::string& data) {
  std::string out;
  const uint64_t n = header_text.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return out + header_text + data;
}

uint64_t header_length(const std::string& bytes) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  return n;
}

json header_of(const std::string& bytes) {
  return json::parse(bytes.substr(8, header_length(bytes)));
}

std::string data_of(const std::string& bytes) { return bytes.substr(8 + header_length(bytes)); }

Parts split(const std::string& bytes) {
  Parts p;
  json header = header_of(bytes);
  const std::string data = data_of(bytes);
  p.meta = json::parse(header["__metadata__"]["slingshot"].get<std::string>());
  std::vector<std::pair<uint64_t, std::string>> order;
  for (auto it = header.begin(); it != header.end(); ++it)
    if (it.key() != "__metadata__") order.push_back({(*it)["data_offsets"][0].get<uint64_t>(), it.key()});
  std::sort(order.begin(), order.end());
  for (const auto& [begin, name] : order) {
    const json& e = header[name];
    const uint64_t end = e["data_offsets"][1].get<uint64_t>();
    p.tensors.push_back({name, e["shape"], e["dtype"].get<std::string>(), data.substr(begin, end - begin)});
  }
  return p;
}

std::string join(const Parts& p) {
  json header;
  json md = p.md;
  md["slingshot"] = p.meta.dump();
  header["__metadata__"] = md;
  std::string data;
  for (const auto& t : p.tensors) {
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    data += t.bytes;
  }
  return make_container(header.dump(), data);
}

Parts::T* find_tensor(Parts& p, const std::string& name) {
  for (auto& t : p.tensors)
    if (t.name == name) return &t;
  FAIL("no tensor " << name);
  return nullptr;
}

json* find_node(Parts& p, const std::string& name) {
  for (auto& n : p.meta["nodes"])
    if (n["name"] == name) return &n;
  FAIL("no node " << name);
  return nullptr;
}

const std::string& golden_bytes() {
  static const std::string bytes = serialize(golden_model());
  return bytes;
}

// Parses `bytes`, requires failure, and checks the message names the problem.
Status error_of(const std::string& bytes, const std::string& fragment, const ModelLimits& limits = {}) {
  auto r = parse_model(bytes, nullptr, limits);
  REQUIRE_MESSAGE(!r.ok(), "expected an error containing: " << fragment);
  CHECK_MESSAGE(r.status().message().find(fragment) != std::string::npos,
                "message: " << r.status().message() << "\nexpected fragment: " << fragment);
  return r.status();
}

void expect_error(const std::string& bytes, const std::string& fragment, const ModelLimits& limits = {}) {
  (void)error_of(bytes, fragment, limits);
}

std::string edit_meta(const std::function<void(Parts&)>& fn) {
  Parts p = split(golden_bytes());
  fn(p);
  return join(p);
}

std::string edit_header(const std::function<void(json&)>& fn) {
  json header = header_of(golden_bytes());
  fn(header);
  return make_container(header.dump(), data_of(golden_bytes()));
}

// A scratch directory under /tmp (plain POSIX calls, which emscripten's NODERAWFS maps
// to the host), emptied and removed at scope exit. Tests register the files they make.
struct TempDir {
  std::string path;
  std::vector<std::string> made;
  TempDir() : path("/tmp/slingshot_model_file_" + std::to_string(static_cast<long long>(::getpid()))) {
    ::mkdir(path.c_str(), 0700);
  }
  std::string file(const std::string& name) {
    made.push_back(path + "/" + name);
    return made.back();
  }
  ~TempDir() {
    for (auto it = made.rbegin(); it != made.rend(); ++it)
      if (std::remove(it->c_str()) != 0) ::rmdir(it->c_str());
    ::rmdir(path.c_str());
  }
};

bool exists(const std::string& path) { return std::ifstream(path).good(); }

}  // namespace

// ---------------------------------------------------------------------------------------
// Round trips.

TEST_CASE("model file: every builder round-trips bit-exactly") {
  for (const char* arch : {"tiny_cnn", "resnet8", "dscnn", "mobilenet_v1"}) {
    CAPTURE(arch);
    const Shape input = std::string(arch) == "dscnn" ? Shape{49, 10, 1}
                        : std::string(arch) == "mobilenet_v1" ? Shape{96, 96, 3} : Shape{32, 32, 3};
    auto g = build_architecture(arch, 10, input);
    REQUIRE(g.ok());
    init_params(*g, 11);
    fill_portable(*g, 12);
    const std::string bytes = serialize(*g);
    CHECK((header_length(bytes) + 8) % 8 == 0);
    auto loaded = parse_model(bytes);
    REQUIRE_MESSAGE(loaded.ok(), loaded.status().to_string());
    check_same_model(*g, *loaded);
    CHECK(serialize(*loaded) == bytes);
  }
}

TEST_CASE("model file: every layer type, a residual edge and a non-last output round-trip") {
  Graph g = every_layer_model();
  auto loaded = parse_model(serialize(g));
  REQUIRE_MESSAGE(loaded.ok(), loaded.status().to_string());
  check_same_model(g, *loaded);
  CHECK(loaded->node(loaded->output_node()).name == "probs");
}

TEST_CASE("model file: special float values keep every bit") {
  Graph g = mlp_model();
  Tensor& w = g.node(1).layer->params()[0].value;
  const uint32_t patterns[] = {0x7fc00001u /* NaN with payload */, 0xff800000u /* -inf */, 0x80000000u /* -0 */,
                               0x00000001u /* smallest subnormal */, 0x7f7fffffu /* max */};
  for (size_t i = 0; i < std::size(patterns); ++i) std::memcpy(&w[static_cast<int64_t>(i)], &patterns[i], 4);
  auto loaded = parse_model(serialize(g));
  REQUIRE(loaded.ok());
  check_same_model(g, *loaded);
}

TEST_CASE("model file: extra metadata round-trips and must be an object") {
  const json extra = {{"dataset", "synthetic digits"}, {"accuracy", 0.875}, {"seed", 7}};
  json got;
  auto loaded = parse_model(serialize(mlp_model(), extra), &got);
  REQUIRE(loaded.ok());
  CHECK(got == extra);
  auto none = parse_model(serialize(mlp_model()), &got);
  REQUIRE(none.ok());
  CHECK(got.is_null());
  auto bad = serialize_model(mlp_model(), json::array({1, 2}));
  REQUIRE(!bad.ok());
  CHECK(bad.status().message().find("must be a JSON object") != std::string::npos);
  auto bad_utf8 = serialize_model(mlp_model(), {{"note", std::string("\xff\xfe")}});
  REQUIRE(!bad_utf8.ok());
  CHECK(bad_utf8.status().message().find("not valid UTF-8") != std::string::npos);
}

TEST_CASE("model file: nodes may be listed in any order") {
  Graph g = every_layer_model();
  Parts p = split(serialize(g));
  json& nodes = p.meta["nodes"];
  std::reverse(nodes.begin(), nodes.end());
  auto loaded = parse_model(join(p));
  REQUIRE_MESSAGE(loaded.ok(), loaded.status().to_string());
  // Nodes come out in a topological order; the model computes the same thing.
  Tensor x({1, 6, 6, 2});
  Rng rng(3);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = rng.uniform();
  Workspace<float> a, b;
  REQUIRE(g.forward(x, a, Mode::kInference, KernelPath::kRef).ok());
  REQUIRE(loaded->forward(x, b, Mode::kInference, KernelPath::kRef).ok());
  REQUIRE(a.output().shape() == b.output().shape());
  CHECK(std::memcmp(a.output().data(), b.output().data(), static_cast<size_t>(a.output().numel()) * 4) == 0);
}

TEST_CASE("model file: the header is a safetensors header any reader accepts") {
  const std::string& bytes = golden_bytes();
  const uint64_t n = header_length(bytes);
  CHECK((8 + n) % 8 == 0);
  CHECK(bytes[8] == '{');
  json header = header_of(bytes);
  REQUIRE(header["__metadata__"].is_object());
  for (auto it = header["__metadata__"].begin(); it != header["__metadata__"].end(); ++it) CHECK(it->is_string());
  json meta = json::parse(header["__metadata__"]["slingshot"].get<std::string>());
  CHECK(meta["format"] == "slingshot-model");
  CHECK(meta["version"] == 1);
  CHECK(header["conv1.weight"]["dtype"] == "F32");
  CHECK(header["conv1.weight"]["shape"] == json::array({8, 3, 3, 3}));
  CHECK(header["conv1.weight"]["data_offsets"] == json::array({0, 8 * 3 * 3 * 3 * 4}));
  // The first weight is the first 4 data bytes, little-endian.
  const Graph g = golden_model();
  const float w0 = g.node(1).layer->params()[0].value[0];
  uint32_t bits;
  std::memcpy(&bits, &w0, 4);
  const std::string data = data_of(bytes);
  for (int i = 0; i < 4; ++i) CHECK(static_cast<unsigned char>(data[i]) == ((bits >> (8 * i)) & 0xff));
}

// ---------------------------------------------------------------------------------------
// Files on disk.

TEST_CASE("model file: save and load through the file system, atomically") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  const std::string tmp = dir.file("model.safetensors.tmp-" + std::to_string(static_cast<long long>(::getpid())));
  Graph g = every_layer_model();
  REQUIRE(save_model(g, path, {{"note", "first"}}).ok());
  json extra;
  auto loaded = load_model(path, &extra);
  REQUIRE_MESSAGE(loaded.ok(), loaded.status().to_string());
  check_same_model(g, *loaded);
  CHECK(extra["note"] == "first");
  CHECK(read_bytes(path) == serialize(g, {{"note", "first"}}));

  // Overwrite: the new model replaces the old, and no temporary is left behind.
  REQUIRE(save_model(mlp_model(), path).ok());
  CHECK(!exists(tmp));
  auto replaced = load_model(path);
  REQUIRE(replaced.ok());
  CHECK(replaced->num_nodes() == 4);

  // A save that fails leaves the existing file untouched.
  const std::string before = read_bytes(path);
  CHECK(!save_model(g, path, json::array()).ok());
  CHECK(read_bytes(path) == before);
  // An unwritable temporary (a directory is in its way) fails cleanly, keeping the old file.
  REQUIRE(::mkdir(tmp.c_str(), 0700) == 0);
  const Status blocked = save_model(g, path);
  CHECK(blocked.code() == StatusCode::kIo);
  CHECK(read_bytes(path) == before);

  const Status missing_dir = save_model(g, dir.path + "/no_such_dir/m.safetensors");
  CHECK(missing_dir.code() == StatusCode::kIo);
  CHECK(missing_dir.message().find("cannot create") != std::string::npos);

  auto missing = load_model(dir.path + "/absent.safetensors");
  REQUIRE(!missing.ok());
  CHECK(missing.status().code() == StatusCode::kNotFound);
  CHECK(missing.status().message().find("cannot open") != std::string::npos);

  // Files get the same validation as bytes.
  write_bytes(path, "tiny");
  auto truncated = load_model(path);
  REQUIRE(!truncated.ok());
  CHECK(truncated.status().message().find("file is truncated: 4 bytes") != std::string::npos);
}

TEST_CASE("model file: saving rejects what could not be loaded back") {
  Graph g({4});
  add(g, "bad name", "dense", {{"in_features", 4}, {"units", 2}, {"use_bias", false}}, {"input"});
  auto r = serialize_model(g);
  REQUIRE(!r.ok());
  CHECK(r.status().message().find("'bad name' cannot be saved") != std::string::npos);
}

// ---------------------------------------------------------------------------------------
// The golden file.

TEST_CASE("model file: golden file") {
  const std::string bytes = golden_bytes();
  if (const char* env = std::getenv("SLING_REGENERATE_GOLDEN"); env && std::string(env) == "1") {
    write_bytes(kGoldenPath, bytes);
    // Sidecar for the independent Python reader: every tensor's shape and values.
    auto g = parse_model(bytes);
    REQUIRE(g.ok());
    json side;
    side["file"] = "golden_tiny_cnn.safetensors";
    side["format"] = kModelFormatName;
    side["version"] = 1;  // a float model is written as version 1
    side["output"] = g->node(g->output_node()).name;
    side["tensors"] = json::object();
    for (int i = 1; i < g->num_nodes(); ++i)
      for (const Param& p : g->node(i).layer->params()) {
        json values = json::array();
        for (int64_t k = 0; k < p.value.numel(); ++k) values.push_back(static_cast<double>(p.value[k]));
        side["tensors"][g->node(i).name + "." + p.name] = {{"shape", p.value.shape()}, {"values", values}};
      }
    std::ofstream(kSidecarPath) << side.dump(1) << "\n";
    // Fuzz seeds: the golden file, a small variant of every layer type, listed out of
    // order, an MLP, and a few broken files.
    ::mkdir((kSourceDir + "/tests/fuzz/corpus").c_str(), 0755);
    ::mkdir(kCorpusDir.c_str(), 0755);
    write_bytes(kCorpusDir + "/golden_tiny_cnn.safetensors", bytes);
    write_bytes(kCorpusDir + "/every_layer.safetensors", serialize(every_layer_model()));
    Parts shuffled = split(serialize(every_layer_model()));
    std::reverse(shuffled.meta["nodes"].begin(), shuffled.meta["nodes"].end());
    write_bytes(kCorpusDir + "/every_layer_reversed.safetensors", join(shuffled));
    write_bytes(kCorpusDir + "/mlp.safetensors", serialize(mlp_model(), {{"note", "seed"}}));
    write_bytes(kCorpusDir + "/truncated.safetensors", bytes.substr(0, bytes.size() / 2));
    Parts cyclic = split(serialize(mlp_model()));
    cyclic.meta["nodes"][0]["inputs"] = {"fc2"};
    write_bytes(kCorpusDir + "/cyclic.safetensors", join(cyclic));
    Graph golden = golden_model();
    Workspace<float> ws;
    REQUIRE(golden.forward(golden_input(), ws, Mode::kInference, KernelPath::kRef).ok());
    std::printf("golden logits: {");
    for (int64_t i = 0; i < ws.output().numel(); ++i) std::printf("%s%.9gf", i ? ", " : "", ws.output()[i]);
    std::printf("}\nregenerated %s, its sidecar and %s\n", kGoldenPath.c_str(), kCorpusDir.c_str());
  }

  const std::string golden = read_bytes(kGoldenPath);
  REQUIRE_MESSAGE(!golden.empty(), "missing " << kGoldenPath);
  CHECK(golden.size() < 100 * 1024);
  // (a) The writer is deterministic and unchanged: same model, same bytes.
  CHECK_MESSAGE(golden == bytes, "serializing golden_model() no longer gives " << kGoldenPath
                                     << "; if the change is intended, see the regeneration note at the top");
  // (b) The reader gives the recorded outputs, on both kernel paths.
  auto loaded = load_model(kGoldenPath);
  REQUIRE_MESSAGE(loaded.ok(), loaded.status().to_string());
  check_same_model(golden_model(), *loaded);
  for (KernelPath path : {KernelPath::kRef, KernelPath::kSimd}) {
    Workspace<float> ws;
    REQUIRE(loaded->forward(golden_input(), ws, Mode::kInference, path).ok());
    REQUIRE(ws.output().shape() == Shape{1, 3});
    for (int i = 0; i < 3; ++i) CHECK(std::fabs(ws.output()[i] - kGoldenLogits[i]) <= 1e-6f);
  }
}

TEST_CASE("model file: a wrong input shape at run time is an error") {
  auto loaded = load_model(kGoldenPath);
  REQUIRE(loaded.ok());
  Workspace<float> ws;
  for (const Shape& s : {Shape{1, 8, 8, 4}, Shape{1, 8, 3}, Shape{0, 8, 8, 3}, Shape{2, 9, 8, 3}}) {
    CAPTURE(shape_to_string(s));
    const Status st = loaded->forward(Tensor(s), ws);
    REQUIRE(!st.ok());
    CHECK(st.message().find("does not match the model input") != std::string::npos);
  }
  CHECK(loaded->forward(Tensor({2, 8, 8, 3}), ws).ok());
}

// ---------------------------------------------------------------------------------------
// Container errors.

TEST_CASE("model file: truncated files") {
  expect_error("", "file is truncated: 0 bytes");
  expect_error(std::string(7, '\0'), "file is truncated: 7 bytes");
  const std::string& g = golden_bytes();
  expect_error(g.substr(0, g.size() - 4), "run past the end of the data section");
  expect_error(g.substr(0, 8 + header_length(g)), "run past the end of the data section");
  // Every prefix fails cleanly.
  for (size_t n = 0; n < g.size(); n += (n < 64 ? 1 : 7)) CHECK(!parse_model(std::string_view(g).substr(0, n)).ok());
}

TEST_CASE("model file: header length past the end of the file or absurdly large") {
  std::string g = golden_bytes();
  const uint64_t past = g.size() - 8 + 1;
  for (int i = 0; i < 8; ++i) g[i] = static_cast<char>((past >> (8 * i)) & 0xff);
  expect_error(g, "runs past the end of the file");
  for (int i = 0; i < 8; ++i) g[i] = static_cast<char>(0xff);
  expect_error(g, "exceeds the limit of 100000000 bytes");
  ModelLimits small;
  small.max_header_bytes = 64;
  expect_error(golden_bytes(), "exceeds the limit of 64 bytes", small);
}

TEST_CASE("model file: header JSON errors") {
  expect_error(make_container("{\"a\": ", ""), "header is not valid JSON");
  expect_error(make_container("", ""), "header is not valid JSON");
  expect_error(make_container("{\"a\": \"\xff\"}", ""), "header is not valid JSON");
  expect_error(make_container("[1, 2]", ""), "header must be a JSON object, got array");
  expect_error(make_container(" {\"__metadata__\": {}}", ""), "header must begin with '{'");
  expect_error(make_container("{\"__metadata__\": {}, \"__metadata__\": {}}", ""),
               "header has duplicate key '__metadata__'");
}

TEST_CASE("model file: __metadata__ errors") {
  expect_error(edit_header([](json& h) { h.erase("__metadata__"); }), "header has no __metadata__");
  expect_error(edit_header([](json& h) { h["__metadata__"] = "x"; }), "__metadata__ must be an object");
  expect_error(edit_header([](json& h) { h["__metadata__"]["note"] = 3; }),
               "__metadata__ value 'note' must be a string");
  expect_error(edit_header([](json& h) { h["__metadata__"]["slingshot"] = json::object(); }),
               "__metadata__ value 'slingshot' must be a string");
  expect_error(edit_header([](json& h) { h["__metadata__"].erase("slingshot"); }),
               "__metadata__ has no 'slingshot' entry");
  expect_error(edit_header([](json& h) { h["__metadata__"]["slingshot"] = "{nodes"; }),
               "__metadata__['slingshot'] is not valid JSON");
  expect_error(edit_header([](json& h) { h["__metadata__"]["slingshot"] = "[]"; }),
               "model metadata must be a JSON object");
  // Other tools' string entries are fine.
  CHECK(parse_model(edit_header([](json& h) { h["__metadata__"]["format"] = "pt"; })).ok());
}

TEST_CASE("model file: format name and version") {
  expect_error(edit_meta([](Parts& p) { p.meta["format"] = "onnx"; }), "unknown format 'onnx'");
  expect_error(edit_meta([](Parts& p) { p.meta.erase("format"); }), "no format string");
  const Status v3 = error_of(edit_meta([](Parts& p) { p.meta["version"] = kModelFormatVersion + 1; }),
                             "unsupported model format version 3");
  CHECK(v3.code() == StatusCode::kUnimplemented);
  // A future file with fields this build does not know still gets the version error.
  expect_error(edit_meta([](Parts& p) {
                 p.meta["version"] = 4;
                 p.meta["quantization"] = {{"scheme", "int8"}};
                 p.meta["nodes"][0]["quantization"] = {{"scale", 0.5}};
                 p.meta["nodes"][0]["calibration"] = {{"scale", 0.5}};
               }),
               "unsupported model format version 4");
  // Version 2 carries quantization objects; the container passes them through.
  CHECK(parse_model(edit_meta([](Parts& p) {
          p.meta["version"] = 2;
          p.meta["quantization"] = json::object();
          (*find_node(p, "conv1"))["quantization"] = json::object();
        })).ok());
  expect_error(edit_meta([](Parts& p) {
                 p.meta["version"] = 2;
                 (*find_node(p, "conv1"))["calibration"] = json::object();
               }),
               "node 'conv1' has unknown field 'calibration'");
  expect_error(edit_meta([](Parts& p) { p.meta["version"] = 0; }), "invalid model format version 0");
  expect_error(edit_meta([](Parts& p) { p.meta["version"] = "1"; }), "needs an integer version");
  expect_error(edit_meta([](Parts& p) { p.meta["version"] = 1.5; }), "needs an integer version");
  expect_error(edit_meta([](Parts& p) { p.meta["quantization"] = json::object(); }),
               "unknown field 'quantization' for version 1");
  expect_error(edit_meta([](Parts& p) { (*find_node(p, "conv1"))["quantization"] = json::object(); }),
               "node 'conv1' has unknown field 'quantization'");
  expect_error(edit_meta([](Parts& p) { p.meta["extra"] = 5; }), "'extra' must be an object");
}

// ---------------------------------------------------------------------------------------
// Tensor table errors.

TEST_CASE("model file: tensor dtype, shape and byte counts") {
  expect_error(edit_meta([](Parts& p) { find_tensor(p, "bn1.gamma")->dtype = "F16"; }),
               "tensor 'bn1.gamma' has dtype 'F16'; only F32, I32 and I8 are supported");
  // Integer dtypes are for quantization tensors; a layer parameter stays F32.
  expect_error(edit_header([](json& h) {
                 h["bn1.gamma"]["dtype"] = "I32";
               }),
               "tensor 'bn1.gamma' is a layer parameter, so it must be F32, not I32");
  expect_error(edit_header([](json& h) { h["bn1.gamma"]["dtype"] = 32; }), "dtype must be a string");
  expect_error(edit_header([](json& h) { h["bn1.gamma"].erase("dtype"); }), "tensor 'bn1.gamma' has no dtype");
  expect_error(edit_header([](json& h) { h["bn1.gamma"]["shape"] = {16}; }),
               "tensor 'bn1.gamma' shape [16] needs 64 bytes of F32 but data_offsets");
  expect_error(edit_header([](json& h) { h["bn1.gamma"]["shape"] = {-8}; }), "shape[0] must not be negative");
  expect_error(edit_header([](json& h) { h["bn1.gamma"]["shape"] = {8.0}; }), "must be a non-negative integer");
  expect_error(edit_header([](json& h) { h["bn1.gamma"]["shape"] = "8"; }), "shape must be an array");
  expect_error(edit_header([](json& h) { h["bn1.gamma"]["shape"] = {1, 1, 1, 1, 1, 1, 1, 1, 8}; }),
               "has rank 9");
  expect_error(edit_header([](json& h) { h["bn1.gamma"]["shape"] = {uint64_t{1} << 40}; }), "is too large");
  expect_error(edit_header([](json& h) { h["bn1.gamma"]["shape"] = {1 << 20, 1 << 20}; }), "is too large");
  expect_error(edit_header([](json& h) { h["bn1.gamma"]["layout"] = "nhwc"; }), "has unknown field 'layout'");
  expect_error(edit_header([](json& h) { h["bn1.gamma"] = {1, 2}; }), "tensor 'bn1.gamma' must be a JSON object");
}

TEST_CASE("model file: data offsets out of range, reversed, overlapping, with gaps or trailing bytes") {
  const uint64_t data_size = data_of(golden_bytes()).size();
  expect_error(edit_header([&](json& h) { h["logits.bias"]["data_offsets"] = {data_size - 8, data_size + 4}; }),
               "run past the end of the data section");
  expect_error(edit_header([](json& h) { h["logits.bias"]["data_offsets"] = {uint64_t{1} << 63, 0}; }),
               "begin after end");
  expect_error(edit_header([](json& h) {
                 const uint64_t b = h["bn1.gamma"]["data_offsets"][0].get<uint64_t>();
                 h["bn1.gamma"]["data_offsets"] = {b + 8, b};
               }),
               "begin after end");
  expect_error(edit_header([](json& h) { h["bn1.gamma"]["data_offsets"] = {0}; }),
               "data_offsets must be an array of two integers");
  expect_error(edit_header([](json& h) { h["bn1.gamma"]["data_offsets"] = {-4, 28}; }), "must not be negative");
  // bn1.beta moved onto bn1.gamma's bytes: an overlap (and a gap where it was).
  expect_error(edit_header([](json& h) { h["bn1.beta"]["data_offsets"] = h["bn1.gamma"]["data_offsets"]; }),
               "tensors 'bn1.beta' and 'bn1.gamma' overlap");
  // A well-formed tensor no node owns.
  expect_error(edit_meta([](Parts& p) {
                 p.tensors.insert(p.tensors.begin() + 1, Parts::T{"pad.gap", json::array({1}), "F32", std::string(4, '\0')});
               }),
               "unknown tensor 'pad.gap'");
  std::string gap = edit_header([](json& h) {
    h.erase("conv1.weight");  // its bytes at the start of the data section become a hole
  });
  expect_error(gap, "data section has a gap: bytes [0, 864)");
  std::string trailing = golden_bytes() + std::string(4, '\0');
  expect_error(trailing, "4 trailing bytes that belong to no tensor");
}

TEST_CASE("model file: missing, unknown and mis-shaped parameters") {
  expect_error(edit_meta([](Parts& p) {
                 std::erase_if(p.tensors, [](const Parts::T& t) { return t.name == "bn2.running_var"; });
               }),
               "missing tensor 'bn2.running_var' for node 'bn2' (batch_norm)");
  expect_error(edit_meta([](Parts& p) { p.tensors.push_back({"ghost.weight", {2}, "F32", std::string(8, 'x')}); }),
               "unknown tensor 'ghost.weight'");
  expect_error(edit_meta([](Parts& p) { p.tensors.push_back({"conv1.extra", {2}, "F32", std::string(8, 'x')}); }),
               "unknown tensor 'conv1.extra'");
  // Same byte count, permuted shape.
  expect_error(edit_meta([](Parts& p) { find_tensor(p, "conv1.weight")->shape = {3, 3, 3, 8}; }),
               "tensor 'conv1.weight' has shape [3, 3, 3, 8] but the conv2d config implies [8, 3, 3, 3]");
  // The config changes what the tensors must be.
  expect_error(edit_meta([](Parts& p) { (*find_node(p, "logits"))["config"]["use_bias"] = false; }),
               "unknown tensor 'logits.bias'");
  // A config implying a huge weight is rejected before anything is allocated.
  expect_error(edit_meta([](Parts& p) {
                 json& c = (*find_node(p, "conv1"))["config"];
                 c["filters"] = 65536;
                 c["in_channels"] = 65536;
                 c["kernel"] = {64, 64};
               }),
               "node 'conv1' (conv2d) config implies 17592186109952 parameters, more than the data section holds");
  ModelLimits small;
  small.max_total_params = 100;
  expect_error(golden_bytes(), "holds more than the limit of 100 parameters", small);
}

// ---------------------------------------------------------------------------------------
// Graph document errors.

TEST_CASE("model file: layer types and configs") {
  expect_error(edit_meta([](Parts& p) { (*find_node(p, "relu1"))["type"] = "gelu"; }),
               "node 'relu1': unknown layer type 'gelu'");
  expect_error(edit_meta([](Parts& p) { (*find_node(p, "conv1"))["config"].erase("filters"); }),
               "node 'conv1': layer type 'conv2d': missing field 'filters'");
  expect_error(edit_meta([](Parts& p) { (*find_node(p, "conv1"))["config"]["filters"] = "8"; }),
               "field 'filters' must be an integer");
  expect_error(edit_meta([](Parts& p) { (*find_node(p, "conv1"))["config"]["dilation"] = 2; }),
               "node 'conv1' (conv2d) config has unknown field 'dilation'");
  expect_error(edit_meta([](Parts& p) { (*find_node(p, "relu1"))["config"]["alpha"] = 0.1; }),
               "node 'relu1' (relu) config has unknown field 'alpha'");
  expect_error(edit_meta([](Parts& p) { (*find_node(p, "conv1"))["config"] = json::array(); }),
               "node 'conv1' needs a config object");
  expect_error(edit_meta([](Parts& p) { (*find_node(p, "conv1")).erase("type"); }),
               "node 'conv1' needs a string type");
  expect_error(edit_meta([](Parts& p) { (*find_node(p, "conv1"))["inputs"] = "input"; }),
               "node 'conv1' needs an inputs array");
  expect_error(edit_meta([](Parts& p) { (*find_node(p, "conv1"))["inputs"] = {1}; }),
               "inputs must be node names");
}

TEST_CASE("model file: dangling and cyclic edges") {
  expect_error(edit_meta([](Parts& p) { (*find_node(p, "bn1"))["inputs"] = {"nowhere"}; }),
               "node 'bn1' reads 'nowhere', which is not defined");
  expect_error(edit_meta([](Parts& p) { (*find_node(p, "relu1"))["inputs"] = {"relu1"}; }),
               "graph has a cycle through node 'relu1': 'relu1' -> 'relu1'");
  // conv1 reads relu1 and feeds bn1, which feeds relu1: a three-node cycle feeding the rest.
  const Status st = error_of(edit_meta([](Parts& p) { (*find_node(p, "conv1"))["inputs"] = {"relu1"}; }),
                                 "graph has a cycle through node");
  CHECK(st.message().find("'conv1' -> 'bn1' -> 'relu1' -> 'conv1'") != std::string::npos);
  // A residual add fed from both ends of a cycle.
  Parts p = split(serialize(every_layer_model()));
  (*find_node(p, "conv"))["inputs"] = {"sum"};
  expect_error(join(p), "graph has a cycle");
}

TEST_CASE("model file: node names, arity, input shape and output") {
  expect_error(edit_meta([](Parts& p) { (*find_node(p, "bn1"))["name"] = "conv1"; }),
               "duplicate node name 'conv1'");
  expect_error(edit_meta([](Parts& p) { (*find_node(p, "conv1"))["name"] = "input"; }),
               "node name 'input' is reserved");
  expect_error(edit_meta([](Parts& p) { (*find_node(p, "conv1"))["name"] = ""; }), "name '' is invalid");
  expect_error(edit_meta([](Parts& p) { (*find_node(p, "conv1"))["name"] = "caf\xc3\xa9"; }),
               "name 'caf\\xc3\\xa9' is invalid");
  expect_error(edit_meta([](Parts& p) { p.meta["nodes"][0].erase("name"); }), "nodes[0] needs a string name");
  expect_error(edit_meta([](Parts& p) { p.meta["nodes"][0] = 7; }), "nodes[0] must be an object");
  expect_error(edit_meta([](Parts& p) { p.meta["nodes"] = json::array(); }), "nodes is empty");
  expect_error(edit_meta([](Parts& p) { p.meta.erase("nodes"); }), "no nodes");
  ModelLimits few;
  few.max_nodes = 4;
  expect_error(golden_bytes(), "more than the limit of 4", few);

  // Arity.
  Parts p = split(serialize(every_layer_model()));
  (*find_node(p, "sum"))["inputs"] = {"dw"};
  expect_error(join(p), "node 'sum' (add) takes 2 input(s), got 1");
  expect_error(edit_meta([](Parts& q) { (*find_node(q, "relu1"))["inputs"] = {"bn1", "bn1"}; }),
               "node 'relu1' (relu) takes 1 input(s), got 2");
  expect_error(edit_meta([](Parts& q) { (*find_node(q, "conv1"))["inputs"] = json::array(); }),
               "takes 1 input(s), got 0");

  // Input shape.
  expect_error(edit_meta([](Parts& q) { q.meta["input_shape"] = {8, 0, 3}; }), "input_shape[1] must be a positive");
  expect_error(edit_meta([](Parts& q) { q.meta["input_shape"] = {8, -8, 3}; }), "input_shape[1] must be a positive");
  expect_error(edit_meta([](Parts& q) { q.meta["input_shape"] = {8, 8.5, 3}; }), "input_shape[1] must be a positive");
  expect_error(edit_meta([](Parts& q) { q.meta["input_shape"] = json::array(); }), "array of 1 to 4");
  expect_error(edit_meta([](Parts& q) { q.meta["input_shape"] = {1, 1, 1, 1, 1}; }), "array of 1 to 4");
  expect_error(edit_meta([](Parts& q) { q.meta["input_shape"] = {4096, 4096, 4096}; }), "elements per sample");
  expect_error(edit_meta([](Parts& q) { q.meta["input_shape"] = {uint64_t{1} << 63, 1, 3}; }),
               "elements per sample");
  expect_error(edit_meta([](Parts& q) { q.meta.erase("input_shape"); }), "no input_shape");
  // A valid shape the layers cannot take.
  expect_error(edit_meta([](Parts& q) { q.meta["input_shape"] = {8, 8, 4}; }),
               "node 'conv1': conv2d expects 3 input channels, got [1, 8, 8, 4]");
  expect_error(edit_meta([](Parts& q) { q.meta["input_shape"] = {8, 8}; }), "conv2d expects a rank-4 input");
  ModelLimits act;
  act.max_activation_elements = 256;
  expect_error(golden_bytes(), "node 'conv1' output [1, 8, 8, 8] has more than 256 elements", act);

  // Output node.
  expect_error(edit_meta([](Parts& q) { q.meta["output"] = "nope"; }), "output node 'nope' does not exist");
  expect_error(edit_meta([](Parts& q) { q.meta["output"] = "input"; }), "output node 'input' does not exist");
  expect_error(edit_meta([](Parts& q) { q.meta.erase("output"); }), "needs an output node name");
}

TEST_CASE("model file: random corruption never crashes or throws") {
  const std::string& g = golden_bytes();
  Rng rng(1234);
  int loaded = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bytes = g;
    const int flips = 1 + static_cast<int>(rng.below(4));
    for (int k = 0; k < flips; ++k) {
      // Mostly hit the header, where the structure is.
      const uint32_t span = rng.below(4) == 0 ? static_cast<uint32_t>(bytes.size())
                                              : static_cast<uint32_t>(8 + header_length(g));
      bytes[rng.below(span)] = static_cast<char>(rng.below(256));
    }
    auto r = parse_model(bytes);
    loaded += r.ok();
    if (!r.ok()) CHECK(!r.status().message().empty());
  }
  // Flips in the data section load (weights are free-form), so some must succeed.
  CHECK(loaded > 0);
}
