// Model file writer and hostile-input reader (format: docs/model-format.md).
//
// The reader never throws and never trusts a number before checking it: nlohmann::json is
// parsed with exceptions off, every value's type is checked before it is read, sizes are
// checked against ModelLimits before anything is allocated, and the tensor table is checked
// to cover the data section exactly (the safetensors rule against holes and polyglots).
#include "model/model_file.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <queue>
#include <set>
#include <vector>

#include "core/file_io.h"
#include "model/layer_registry.h"

namespace slingshot {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr const char* kMetadataKey = "__metadata__";
constexpr const char* kSlingshotKey = "slingshot";
constexpr int kMaxNameLength = 256;
constexpr int kMaxTensorRank = 8;

// ---------------------------------------------------------------------------------------
// Small helpers.

ModelLimits clamp_limits(const ModelLimits& l) {
  const ModelLimits d;
  ModelLimits out;
  out.max_header_bytes = std::min(l.max_header_bytes, d.max_header_bytes);
  out.max_tensor_bytes = std::min(l.max_tensor_bytes, d.max_tensor_bytes);
  out.max_total_params = std::clamp(l.max_total_params, int64_t{0}, d.max_total_params);
  out.max_input_elements = std::clamp(l.max_input_elements, int64_t{1}, d.max_input_elements);
  out.max_activation_elements = std::clamp(l.max_activation_elements, int64_t{1}, d.max_activation_elements);
  out.max_nodes = std::clamp(l.max_nodes, 1, d.max_nodes);
  return out;
}

// Node names become tensor-name prefixes, so they stay in a set every tool handles.
bool valid_node_name(const std::string& s) {
  if (s.empty() || s.size() > static_cast<size_t>(kMaxNameLength)) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.' || c == ':' || c == '/';
    if (!ok) return false;
  }
  return true;
}

// Parameter names never contain '.', which makes "<node>.<param>" split at the last dot.
bool valid_param_name(const std::string& s) {
  if (s.empty() || s.size() > static_cast<size_t>(kMaxNameLength)) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

// Names from a file may be anything; keep error messages printable and short.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 80)) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    }
  }
  if (s.size() > 80) out += "...";
  return out;
}

std::string quote_name(std::string_view s) { return "'" + printable(s) + "'"; }

uint64_t dtype_bytes(TensorDType d) { return d == TensorDType::kI8 ? 1 : 4; }
const char* dtype_name(TensorDType d) {
  return d == TensorDType::kF32 ? "F32" : (d == TensorDType::kI32 ? "I32" : "I8");
}

uint64_t read_u64_le(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void append_u64_le(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Float data is little-endian in the file whatever the host is.
void append_f32_le(std::string& out, const float* v, int64_t n) {
  const size_t start = out.size();
  out.resize(start + static_cast<size_t>(n) * 4);
  std::memcpy(out.data() + start, v, static_cast<size_t>(n) * 4);
  if constexpr (std::endian::native == std::endian::big)
    for (size_t i = start; i < out.size(); i += 4) std::reverse(out.begin() + i, out.begin() + i + 4);
}

void read_f32_le(const char* p, int64_t n, float* out) {
  std::memcpy(out, p, static_cast<size_t>(n) * 4);
  if constexpr (std::endian::native == std::endian::big) {
    auto* b = reinterpret_cast<unsigned char*>(out);
    for (int64_t i = 0; i < n; ++i) std::reverse(b + 4 * i, b + 4 * i + 4);
  }
}

// Parses JSON without exceptions and rejects duplicate object keys anywhere (the
// safetensors spec disallows them, and "last one wins" would let two readers disagree).
struct ParsedJson {
  json value;               // discarded on a syntax error
  std::string duplicate;    // a duplicated key, if any
};

ParsedJson parse_json_strict(std::string_view text) {
  ParsedJson out;
  std::vector<std::set<std::string>> open_objects;
  json::parser_callback_t cb = [&](int, json::parse_event_t event, json& parsed) -> bool {
    switch (event) {
      case json::parse_event_t::object_start: open_objects.emplace_back(); break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && parsed.is_string() &&
            !open_objects.back().insert(parsed.get_ref<const std::string&>()).second && out.duplicate.empty())
          out.duplicate = parsed.get_ref<const std::string&>();
        break;
      default: break;
    }
    return true;
  };
  out.value = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/false);
  return out;
}

// A non-negative integer that fits the caller's bound, or an error naming `what`.
Result<uint64_t> json_u64(const json& v, const std::string& what, uint64_t max) {
  if (!v.is_number_unsigned()) {
    if (v.is_number_integer()) return data_loss(what + " must not be negative");
    return data_loss(what + " must be a non-negative integer, got " + std::string(v.type_name()));
  }
  const uint64_t x = v.get<uint64_t>();
  if (x > max) return data_loss(what + " = " + std::to_string(x) + " exceeds " + std::to_string(max));
  return x;
}

// ---------------------------------------------------------------------------------------
// The tensor table of the safetensors header.

struct TensorEntry {
  std::string name;
  TensorDType dtype = TensorDType::kF32;
  Shape shape;
  uint64_t begin = 0;
  uint64_t end = 0;
  bool used = false;  // claimed by a layer parameter
};

Result<TensorEntry> parse_tensor_entry(const std::string& name, const json& v, uint64_t data_size,
                                       const ModelLimits& limits) {
  const std::string what = "tensor " + quote_name(name);
  if (!v.is_object()) return data_loss(what + " must be a JSON object, got " + std::string(v.type_name()));
  for (auto it = v.begin(); it != v.end(); ++it)
    if (it.key() != "dtype" && it.key() != "shape" && it.key() != "data_offsets")
      return data_loss(what + " has unknown field " + quote_name(it.key()));
  TensorEntry t;
  t.name = name;

  auto dtype = v.find("dtype");
  if (dtype == v.end()) return data_loss(what + " has no dtype");
  if (!dtype->is_string()) return data_loss(what + " dtype must be a string");
  const std::string& dtype_name = dtype->get_ref<const std::string&>();
  if (dtype_name == "F32") {
    t.dtype = TensorDType::kF32;
  } else if (dtype_name == "I32") {
    t.dtype = TensorDType::kI32;
  } else if (dtype_name == "I8") {
    t.dtype = TensorDType::kI8;
  } else {
    return unimplemented(what + " has dtype " + quote_name(dtype_name) + "; only F32, I32 and I8 are supported");
  }
  const uint64_t element_bytes = dtype_bytes(t.dtype);

  auto shape = v.find("shape");
  if (shape == v.end()) return data_loss(what + " has no shape");
  if (!shape->is_array()) return data_loss(what + " shape must be an array");
  if (shape->size() > static_cast<size_t>(kMaxTensorRank))
    return data_loss(what + " has rank " + std::to_string(shape->size()) + ", more than " +
                     std::to_string(kMaxTensorRank));
  // Each dimension is bounded by the tensor byte limit, so the running product cannot
  // overflow before it is compared against that limit.
  const uint64_t max_elements = limits.max_tensor_bytes / element_bytes;
  uint64_t numel = 1;
  for (size_t i = 0; i < shape->size(); ++i) {
    SLING_ASSIGN_OR_RETURN(uint64_t d, json_u64((*shape)[i], what + " shape[" + std::to_string(i) + "]",
                                                std::numeric_limits<int64_t>::max()));
    t.shape.push_back(static_cast<int64_t>(d));
    if (numel != 0 && d > max_elements / numel)
      return data_loss(what + " shape " + shape_to_string(t.shape) + (i + 1 < shape->size() ? "..." : "") +
                       " is too large: more than " + std::to_string(limits.max_tensor_bytes) + " bytes");
    numel *= d;
  }

  auto offsets = v.find("data_offsets");
  if (offsets == v.end()) return data_loss(what + " has no data_offsets");
  if (!offsets->is_array() || offsets->size() != 2)
    return data_loss(what + " data_offsets must be an array of two integers [begin, end]");
  SLING_ASSIGN_OR_RETURN(t.begin, json_u64((*offsets)[0], what + " data_offsets[0]",
                                           std::numeric_limits<uint64_t>::max()));
  SLING_ASSIGN_OR_RETURN(t.end, json_u64((*offsets)[1], what + " data_offsets[1]",
                                         std::numeric_limits<uint64_t>::max()));
  const std::string range = "[" + std::to_string(t.begin) + ", " + std::to_string(t.end) + "]";
  if (t.begin > t.end) return data_loss(what + " data_offsets " + range + " begin after end");
  if (t.end > data_size)
    return data_loss(what + " data_offsets " + range + " run past the end of the data section (" +
                     std::to_string(data_size) + " bytes); the file may be truncated");
  if (t.end - t.begin != numel * element_bytes)
    return data_loss(what + " shape " + shape_to_string(t.shape) + " needs " + std::to_string(numel * element_bytes) +
                     " bytes of " + dtype_name + " but data_offsets " + range + " span " +
                     std::to_string(t.end - t.begin));
  return t;
}

// The data section must be covered exactly: no overlaps, no gaps, no trailing bytes.
Status check_coverage(std::vector<const TensorEntry*> sorted, uint64_t data_size) {
  std::sort(sorted.begin(), sorted.end(), [](const TensorEntry* a, const TensorEntry* b) {
    if (a->begin != b->begin) return a->begin < b->begin;
    return a->end != b->end ? a->end < b->end : a->name < b->name;
  });
  uint64_t pos = 0;
  const TensorEntry* prev = nullptr;
  for (const TensorEntry* t : sorted) {
    if (t->begin < pos)
      return data_loss("tensors " + quote_name(prev->name) + " and " + quote_name(t->name) + " overlap in the data section");
    if (t->begin > pos)
      return data_loss("data section has a gap: bytes [" + std::to_string(pos) + ", " + std::to_string(t->begin) +
                       ") belong to no tensor");
    pos = t->end;
    prev = t;
  }
  if (pos != data_size)
    return data_loss("data section has " + std::to_string(data_size - pos) +
                     " trailing bytes that belong to no tensor");
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// The graph document in __metadata__["slingshot"].

struct NodeSpec {
  std::string name;
  std::string type;
  std::vector<std::string> inputs;
  const json* config = nullptr;
  const json* quantization = nullptr;  // version 2: the node's quantization object, if any
};

// An upper bound on the parameter count make_layer() would allocate for this config,
// computed before the layer exists so a hostile config (a 65536x65536x64x64 conv) cannot
// allocate terabytes. Fields make_layer would reject count as 0; it reports them itself.
double param_count_bound(const std::string& type, const json& config) {
  auto num = [&](const char* key) -> double {
    auto it = config.find(key);
    if (it == config.end() || !it->is_number_integer()) return 0.0;
    return std::max(0.0, it->get<double>());
  };
  auto pair = [&](const char* key) -> double {
    auto it = config.find(key);
    if (it == config.end() || !it->is_array() || it->size() != 2) return 0.0;
    double p = 1.0;
    for (const json& e : *it) p *= e.is_number_integer() ? std::max(0.0, e.get<double>()) : 0.0;
    return p;
  };
  if (type == "conv2d") return num("in_channels") * num("filters") * pair("kernel") + num("filters");
  if (type == "depthwise_conv2d") return num("channels") * pair("kernel") + num("channels");
  if (type == "dense") return num("in_features") * num("units") + num("units");
  if (type == "batch_norm") return 4.0 * num("channels");
  return 0.0;  // parameter-free layers
}

Result<Shape> parse_input_shape(const json& meta, const ModelLimits& limits) {
  auto it = meta.find("input_shape");
  if (it == meta.end()) return data_loss("model metadata has no input_shape");
  if (!it->is_array() || it->empty() || it->size() > 4)
    return data_loss("input_shape must be an array of 1 to 4 positive integers");
  Shape s;
  int64_t total = 1;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& d = (*it)[i];
    // nlohmann stores every non-negative integer it parses as unsigned.
    if (!d.is_number_unsigned() || d.get<uint64_t>() == 0)
      return data_loss("input_shape[" + std::to_string(i) + "] must be a positive integer");
    const uint64_t u = d.get<uint64_t>();
    if (u > static_cast<uint64_t>(limits.max_input_elements) ||
        total * static_cast<int64_t>(u) > limits.max_input_elements)
      return data_loss("input_shape has more than " + std::to_string(limits.max_input_elements) +
                       " elements per sample");
    total *= static_cast<int64_t>(u);
    s.push_back(static_cast<int64_t>(u));
  }
  return s;
}

Result<std::vector<NodeSpec>> parse_nodes(const json& meta, const ModelLimits& limits, uint64_t version) {
  auto it = meta.find("nodes");
  if (it == meta.end()) return data_loss("model metadata has no nodes");
  if (!it->is_array()) return data_loss("nodes must be an array");
  if (it->empty()) return data_loss("nodes is empty: a model needs at least one layer");
  if (it->size() > static_cast<size_t>(limits.max_nodes))
    return data_loss("model has " + std::to_string(it->size()) + " nodes, more than the limit of " +
                     std::to_string(limits.max_nodes));
  std::vector<NodeSpec> nodes;
  std::set<std::string> names;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& n = (*it)[i];
    const std::string where = "nodes[" + std::to_string(i) + "]";
    if (!n.is_object()) return data_loss(where + " must be an object");
    NodeSpec spec;
    auto name = n.find("name");
    if (name == n.end() || !name->is_string()) return data_loss(where + " needs a string name");
    spec.name = name->get<std::string>();
    if (!valid_node_name(spec.name))
      return data_loss(where + " name " + quote_name(spec.name) +
                       " is invalid: use 1 to 256 characters from A-Z a-z 0-9 _ - . : /");
    if (spec.name == "input") return data_loss("node name 'input' is reserved for the graph input");
    if (!names.insert(spec.name).second) return data_loss("duplicate node name " + quote_name(spec.name));
    const std::string node = "node " + quote_name(spec.name);
    for (auto f = n.begin(); f != n.end(); ++f)
      if (f.key() != "name" && f.key() != "type" && f.key() != "inputs" && f.key() != "config" &&
          (version < 2 || f.key() != "quantization"))
        return data_loss(node + " has unknown field " + quote_name(f.key()) +
                         (version < 2 ? " (version 1 nodes have name, type, inputs, config)"
                                      : " (nodes have name, type, inputs, config, quantization)"));
    if (auto q = n.find("quantization"); q != n.end()) {
      if (!q->is_object()) return data_loss(node + " quantization must be an object");
      spec.quantization = &*q;
    }
    auto type = n.find("type");
    if (type == n.end() || !type->is_string()) return data_loss(node + " needs a string type");
    spec.type = type->get<std::string>();
    auto inputs = n.find("inputs");
    if (inputs == n.end() || !inputs->is_array()) return data_loss(node + " needs an inputs array");
    if (inputs->size() > 16) return data_loss(node + " has " + std::to_string(inputs->size()) + " inputs");
    for (const json& in : *inputs) {
      if (!in.is_string()) return data_loss(node + " inputs must be node names (strings)");
      spec.inputs.push_back(in.get<std::string>());
    }
    auto config = n.find("config");
    if (config == n.end() || !config->is_object()) return data_loss(node + " needs a config object");
    spec.config = &*config;
    nodes.push_back(std::move(spec));
  }
  return nodes;
}

// Kahn's algorithm over the file's nodes, which may be listed in any order. Among ready
// nodes the earliest-listed goes first, so a file written in graph order loads in the same
// order. Returns indices into `nodes`, or names a cycle.
Result<std::vector<int>> topological_order(const std::vector<NodeSpec>& nodes) {
  const int n = static_cast<int>(nodes.size());
  std::map<std::string, int> index;
  for (int i = 0; i < n; ++i) index[nodes[i].name] = i;
  std::vector<int> indegree(n, 0);
  std::vector<std::vector<int>> consumers(n);
  std::vector<std::vector<int>> producers(n);
  for (int i = 0; i < n; ++i)
    for (const std::string& in : nodes[i].inputs) {
      if (in == "input") continue;
      auto it = index.find(in);
      if (it == index.end())
        return data_loss("node " + quote_name(nodes[i].name) + " reads " + quote_name(in) + ", which is not defined");
      ++indegree[i];
      consumers[it->second].push_back(i);
      producers[i].push_back(it->second);
    }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < n; ++i)
    if (indegree[i] == 0) ready.push(i);
  std::vector<int> order;
  while (!ready.empty()) {
    const int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int c : consumers[i])
      if (--indegree[c] == 0) ready.push(c);
  }
  if (static_cast<int>(order.size()) == n) return order;
  // Every unplaced node has an unplaced producer, so walking producers n steps from any
  // unplaced node ends inside a cycle; then walk the cycle once to name it.
  int v = 0;
  while (indegree[v] == 0) ++v;
  auto unplaced_producer = [&](int x) {
    for (int p : producers[x])
      if (indegree[p] > 0) return p;
    return x;  // unreachable: x has a remaining in-edge
  };
  for (int step = 0; step < n; ++step) v = unplaced_producer(v);
  std::vector<int> cycle{v};
  for (int x = unplaced_producer(v); x != v && static_cast<int>(cycle.size()) <= n; x = unplaced_producer(x))
    cycle.push_back(x);
  // cycle[k + 1] feeds cycle[k]; print it in data-flow order.
  std::string path = quote_name(nodes[v].name);
  for (auto it = cycle.rbegin(); it + 1 != cycle.rend(); ++it) path += " -> " + quote_name(nodes[*it].name);
  return data_loss("graph has a cycle through node " + quote_name(nodes[v].name) + ": " + path + " -> " +
                   quote_name(nodes[v].name));
}

// Checks the config's keys are exactly those the layer writes, so a misspelled or
// future field is an error instead of being silently ignored.
Status check_config_keys(const NodeSpec& spec, const Layer& layer) {
  json expected = json::object();
  layer.to_json(expected);
  for (auto it = spec.config->begin(); it != spec.config->end(); ++it)
    if (!expected.contains(it.key()))
      return data_loss("node " + quote_name(spec.name) + " (" + spec.type + ") config has unknown field " +
                       quote_name(it.key()));
  return Status::Ok();
}

Result<ModelContents> parse_model_impl(std::string_view bytes, const ModelLimits& limits) {
  // Container: length, header, data.
  if (bytes.size() < 8)
    return data_loss("file is truncated: " + std::to_string(bytes.size()) +
                     " bytes, but the header length alone takes 8");
  const uint64_t header_size = read_u64_le(bytes.data());
  if (header_size > limits.max_header_bytes)
    return data_loss("header length " + std::to_string(header_size) + " exceeds the limit of " +
                     std::to_string(limits.max_header_bytes) + " bytes");
  if (header_size > bytes.size() - 8)
    return data_loss("header length " + std::to_string(header_size) + " runs past the end of the file (" +
                     std::to_string(bytes.size() - 8) + " bytes follow the length)");
  const std::string_view header_text = bytes.substr(8, header_size);
  const std::string_view data = bytes.substr(8 + header_size);

  ParsedJson parsed = parse_json_strict(header_text);
  if (parsed.value.is_discarded()) return data_loss("header is not valid JSON");
  if (!parsed.duplicate.empty()) return data_loss("header has duplicate key " + quote_name(parsed.duplicate));
  const json& header = parsed.value;
  if (!header.is_object()) return data_loss("header must be a JSON object, got " + std::string(header.type_name()));
  if (header_text.empty() || header_text[0] != '{') return data_loss("header must begin with '{'");

  // __metadata__: a string-to-string map; ours is the "slingshot" entry.
  auto md = header.find(kMetadataKey);
  if (md == header.end()) return data_loss("header has no __metadata__: not a Slingshot model");
  if (!md->is_object()) return data_loss("__metadata__ must be an object of strings");
  for (auto it = md->begin(); it != md->end(); ++it)
    if (!it->is_string())
      return data_loss("__metadata__ value " + quote_name(it.key()) + " must be a string (safetensors spec), got " +
                       std::string(it->type_name()));
  auto doc = md->find(kSlingshotKey);
  if (doc == md->end()) return data_loss("__metadata__ has no 'slingshot' entry: not a Slingshot model");
  ParsedJson meta_parsed = parse_json_strict(doc->get_ref<const std::string&>());
  if (meta_parsed.value.is_discarded()) return data_loss("__metadata__['slingshot'] is not valid JSON");
  if (!meta_parsed.duplicate.empty())
    return data_loss("model metadata has duplicate key " + quote_name(meta_parsed.duplicate));
  const json& meta = meta_parsed.value;
  if (!meta.is_object()) return data_loss("model metadata must be a JSON object");

  // Schema identity and version before anything else, so a newer file gets the
  // "unsupported version" error rather than a complaint about a field it added.
  auto format = meta.find("format");
  if (format == meta.end() || !format->is_string())
    return data_loss("model metadata has no format string (expected '" + std::string(kModelFormatName) + "')");
  if (format->get_ref<const std::string&>() != kModelFormatName)
    return data_loss("unknown format " + quote_name(format->get_ref<const std::string&>()) + " (expected '" +
                     kModelFormatName + "')");
  auto version = meta.find("version");
  if (version == meta.end() || !version->is_number_integer())
    return data_loss("model metadata needs an integer version");
  if (!version->is_number_unsigned() || version->get<uint64_t>() < 1)
    return data_loss("invalid model format version " + std::to_string(version->get<int64_t>()));
  if (version->get<uint64_t>() > static_cast<uint64_t>(kModelFormatVersion))
    return unimplemented("unsupported model format version " + std::to_string(version->get<uint64_t>()) +
                         ": this build reads versions up to " + std::to_string(kModelFormatVersion) +
                         "; upgrade Slingshot");
  const uint64_t file_version = version->get<uint64_t>();
  for (auto it = meta.begin(); it != meta.end(); ++it)
    if (it.key() != "format" && it.key() != "version" && it.key() != "input_shape" && it.key() != "output" &&
        it.key() != "nodes" && it.key() != "extra" && (file_version < 2 || it.key() != "quantization"))
      return data_loss("model metadata has unknown field " + quote_name(it.key()) + " for version " +
                       std::to_string(file_version));
  auto extra = meta.find("extra");
  if (extra != meta.end() && !extra->is_object() && !extra->is_null())
    return data_loss("model metadata 'extra' must be an object");
  auto quantization = meta.find("quantization");
  if (quantization != meta.end() && !quantization->is_object())
    return data_loss("model metadata 'quantization' must be an object");

  SLING_ASSIGN_OR_RETURN(Shape input_shape, parse_input_shape(meta, limits));
  auto output = meta.find("output");
  if (output == meta.end() || !output->is_string()) return data_loss("model metadata needs an output node name");
  SLING_ASSIGN_OR_RETURN(std::vector<NodeSpec> nodes, parse_nodes(meta, limits, file_version));

  // The tensor table: every entry well formed, the data section covered exactly.
  if (data.size() > static_cast<uint64_t>(limits.max_total_params) * 4)
    return data_loss("data section of " + std::to_string(data.size()) + " bytes holds more than the limit of " +
                     std::to_string(limits.max_total_params) + " parameters");
  std::map<std::string, TensorEntry> tensors;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == kMetadataKey) continue;
    SLING_ASSIGN_OR_RETURN(TensorEntry t, parse_tensor_entry(it.key(), *it, data.size(), limits));
    tensors.emplace(it.key(), std::move(t));
  }
  std::vector<const TensorEntry*> entries;
  for (const auto& [name, t] : tensors) entries.push_back(&t);
  SLING_RETURN_IF_ERROR(check_coverage(entries, data.size()));

  // Layers, in an order where every node comes after its inputs.
  SLING_ASSIGN_OR_RETURN(std::vector<int> order, topological_order(nodes));
  // Version 2 may store a weight only as int8 codes: one byte per element at least.
  const double available_params = static_cast<double>(file_version >= 2 ? data.size() : data.size() / 4);
  Graph graph(input_shape);
  for (int i : order) {
    const NodeSpec& spec = nodes[i];
    const std::string node = "node " + quote_name(spec.name);
    const double bound = param_count_bound(spec.type, *spec.config);
    if (bound > available_params) {
      char implied[32];
      std::snprintf(implied, sizeof implied, "%.0f", bound);
      return data_loss(node + " (" + spec.type + ") config implies " + implied +
                       " parameters, more than the data section holds (" +
                       std::to_string(static_cast<int64_t>(available_params)) + ")");
    }
    auto layer = make_layer(spec.type, *spec.config);
    if (!layer.ok()) return layer.status().with_context(node);
    SLING_RETURN_IF_ERROR(check_config_keys(spec, **layer));
    auto added = graph.add(spec.name, std::move(*layer), spec.inputs);
    if (!added.ok()) return added.status();
    const Node& built = graph.node(*added);
    if (shape_numel(built.output_shape) > limits.max_activation_elements)
      return data_loss(node + " output " + shape_to_string(built.output_shape) + " has more than " +
                       std::to_string(limits.max_activation_elements) + " elements");
  }
  const std::string& output_name = output->get_ref<const std::string&>();
  if (output_name == "input" || graph.find(output_name) < 0)
    return data_loss("output node " + quote_name(output_name) + " does not exist");
  SLING_RETURN_IF_ERROR(graph.set_output(output_name));

  // Parameters: each one present with the shape its config implies; no tensor left over.
  std::set<std::string> weights_from_codes;
  for (int i = 1; i < graph.num_nodes(); ++i) {
    Node& node = graph.node(i);
    for (Param& p : node.layer->params()) {
      const std::string name = node.name + "." + p.name;
      auto it = tensors.find(name);
      if (it == tensors.end() && p.name == "weight" && file_version >= 2 &&
          tensors.count(node.name + ".weight_q")) {
        weights_from_codes.insert(node.name);  // stored once, as integer codes
        continue;
      }
      if (it == tensors.end())
        return data_loss("missing tensor " + quote_name(name) + " for node " + quote_name(node.name) + " (" +
                         node.layer->type() + ")");
      TensorEntry& t = it->second;
      if (t.dtype != TensorDType::kF32)
        return data_loss("tensor " + quote_name(name) + " is a layer parameter, so it must be F32, not " +
                         dtype_name(t.dtype));
      if (t.shape != p.value.shape())
        return data_loss("tensor " + quote_name(name) + " has shape " + shape_to_string(t.shape) + " but the " +
                         node.layer->type() + " config implies " + shape_to_string(p.value.shape()));
      read_f32_le(data.data() + t.begin, p.value.numel(), p.value.data());
      t.used = true;
    }
  }
  // Version 2: tensors no parameter claims belong to a node's quantization ("<node>.<name>").
  ModelContents contents;
  for (auto& [name, t] : tensors) {
    if (t.used) continue;
    const size_t dot = name.rfind('.');
    const std::string node_name = dot == std::string::npos ? std::string() : name.substr(0, dot);
    if (file_version < 2 || dot == std::string::npos || !valid_param_name(name.substr(dot + 1)) ||
        graph.find(node_name) < 1)
      return data_loss("unknown tensor " + quote_name(name) + ": no node has that parameter");
    AuxTensor a;
    a.dtype = t.dtype;
    a.shape = t.shape;
    const int64_t n = shape_numel(t.shape);
    const char* src = data.data() + t.begin;
    if (t.dtype == TensorDType::kF32) {
      a.f32.resize(n);
      read_f32_le(src, n, a.f32.data());
    } else if (t.dtype == TensorDType::kI32) {
      a.i32.resize(n);
      for (int64_t i = 0; i < n; ++i)
        a.i32[i] = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint8_t>(src[4 * i])) |
                                        static_cast<uint32_t>(static_cast<uint8_t>(src[4 * i + 1])) << 8 |
                                        static_cast<uint32_t>(static_cast<uint8_t>(src[4 * i + 2])) << 16 |
                                        static_cast<uint32_t>(static_cast<uint8_t>(src[4 * i + 3])) << 24);
    } else {
      a.i8.assign(reinterpret_cast<const int8_t*>(src), reinterpret_cast<const int8_t*>(src) + n);
    }
    contents.aux_tensors.emplace(name, std::move(a));
  }

  contents.graph = std::move(graph);
  contents.weights_from_codes = std::move(weights_from_codes);
  contents.extra = extra != meta.end() ? *extra : json();
  contents.quantization = quantization != meta.end() ? *quantization : json();
  for (const NodeSpec& spec : nodes)
    if (spec.quantization) contents.node_quantization.emplace(spec.name, *spec.quantization);
  return contents;
}

// nlohmann's dump throws on invalid UTF-8 in strict mode. Dumping with "replace" and with
// "ignore" gives the same text exactly when there is nothing to replace.
Result<std::string> dump_checked(const ordered_json& j, const std::string& what) {
  std::string a = j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
  std::string b = j.dump(-1, ' ', false, ordered_json::error_handler_t::ignore);
  if (a != b) return invalid_argument(what + " contains a string that is not valid UTF-8");
  return a;
}

void append_i32_le(std::string& out, const int32_t* v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t u = static_cast<uint32_t>(v[i]);
    for (int b = 0; b < 4; ++b) out.push_back(static_cast<char>((u >> (8 * b)) & 0xff));
  }
}

const json& null_json() {
  static const json kNull;
  return kNull;
}

// The float-graph loaders cannot rebuild weights stored only as integer codes.
Status check_float_weights_present(const ModelContents& c) {
  if (c.weights_from_codes.empty()) return Status::Ok();
  return invalid_argument("node " + quote_name(*c.weights_from_codes.begin()) +
                          " stores its weights only as integer codes; load the file as a quantized model");
}

// The one writer behind serialize_model and serialize_model_contents.
Result<std::string> serialize_impl(const Graph& graph, const json& extra_metadata, const json& quantization,
                                   const std::map<std::string, json>& node_quantization,
                                   const std::map<std::string, AuxTensor>& aux_tensors,
                                   const std::set<std::string>& weights_from_codes) {
  for (const std::string& name : weights_from_codes)
    if (graph.find(name) < 1 || !aux_tensors.count(name + ".weight_q"))
      return invalid_argument("node " + quote_name(name) + " can omit its float weight only with weight_q codes");
  if (!extra_metadata.is_null() && !extra_metadata.is_object())
    return invalid_argument("extra metadata must be a JSON object or null");
  if (!quantization.is_null() && !quantization.is_object())
    return invalid_argument("the quantization document must be a JSON object or null");
  for (const auto& [name, q] : node_quantization) {
    if (graph.find(name) < 1) return invalid_argument("quantization for unknown node " + quote_name(name));
    if (!q.is_object()) return invalid_argument("quantization of node " + quote_name(name) + " must be an object");
  }
  const bool quantized = !quantization.is_null() || !node_quantization.empty() || !aux_tensors.empty();
  const std::vector<std::string> known = layer_types();

  ordered_json meta;
  meta["format"] = kModelFormatName;
  meta["version"] = quantized ? 2 : 1;
  meta["input_shape"] = graph.input_shape();
  meta["output"] = graph.node(graph.output_node()).name;
  ordered_json nodes = ordered_json::array();
  struct Pending {
    std::string name;
    const Tensor* value;   // a layer parameter (F32), or
    const AuxTensor* aux;  // a tensor no layer owns
  };
  std::vector<Pending> params;
  for (int i = 1; i < graph.num_nodes(); ++i) {
    const Node& node = graph.node(i);
    if (!valid_node_name(node.name) || node.name == "input")
      return invalid_argument("node name " + quote_name(node.name) +
                              " cannot be saved: use 1 to 256 characters from A-Z a-z 0-9 _ - . : /");
    const std::string type = node.layer->type();
    if (std::find(known.begin(), known.end(), type) == known.end())
      return invalid_argument("node " + quote_name(node.name) + " has layer type " + quote_name(type) +
                              ", which make_layer() cannot load");
    ordered_json n;
    n["name"] = node.name;
    n["type"] = type;
    n["inputs"] = ordered_json::array();
    for (int in : node.inputs) n["inputs"].push_back(graph.node(in).name);
    json config = json::object();
    node.layer->to_json(config);
    n["config"] = config;
    if (auto q = node_quantization.find(node.name); q != node_quantization.end()) n["quantization"] = q->second;
    nodes.push_back(std::move(n));
    for (const Param& p : node.layer->params()) {
      if (!valid_param_name(p.name))
        return invalid_argument("node " + quote_name(node.name) + " parameter " + quote_name(p.name) + " has an invalid name");
      if (shape_numel(p.value.shape()) != p.value.numel())
        return internal_error("parameter " + node.name + "." + p.name + " has a shape that does not match its data");
      if (p.name == "weight" && weights_from_codes.count(node.name)) continue;
      params.push_back({node.name + "." + p.name, &p.value, nullptr});
    }
  }
  for (const auto& [name, a] : aux_tensors) {
    const size_t dot = name.rfind('.');
    const int node = dot == std::string::npos ? -1 : graph.find(name.substr(0, dot));
    if (node < 1 || !valid_param_name(name.substr(dot + 1)))
      return invalid_argument("aux tensor " + quote_name(name) + " must be named '<node>.<name>' after a layer node");
    if (graph.node(node).layer->find_param(name.substr(dot + 1)))
      return invalid_argument("aux tensor " + quote_name(name) + " has the name of a layer parameter");
    const size_t held = a.dtype == TensorDType::kF32 ? a.f32.size()
                        : a.dtype == TensorDType::kI32 ? a.i32.size() : a.i8.size();
    if (static_cast<int64_t>(held) != shape_numel(a.shape))
      return internal_error("aux tensor " + name + " has a shape that does not match its data");
    params.push_back({name, nullptr, &a});
  }
  if (graph.output_node() == 0) return invalid_argument("the model output is the input node; nothing to save");
  meta["nodes"] = std::move(nodes);
  if (!extra_metadata.is_null()) meta["extra"] = ordered_json(extra_metadata);
  if (!quantization.is_null()) meta["quantization"] = ordered_json(quantization);
  SLING_ASSIGN_OR_RETURN(std::string meta_text, dump_checked(meta, "extra metadata"));

  // Header: __metadata__ first, then tensors in data order (as the reference writer does).
  ordered_json header;
  header[kMetadataKey] = {{kSlingshotKey, meta_text}};
  uint64_t offset = 0;
  for (const Pending& p : params) {
    const TensorDType dtype = p.aux ? p.aux->dtype : TensorDType::kF32;
    const Shape& shape = p.aux ? p.aux->shape : p.value->shape();
    const uint64_t bytes = static_cast<uint64_t>(shape_numel(shape)) * dtype_bytes(dtype);
    header[p.name] = {{"dtype", dtype_name(dtype)}, {"shape", shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  SLING_ASSIGN_OR_RETURN(std::string header_text, dump_checked(header, "model header"));
  // Spaces pad the header so the data section starts 8-byte aligned (the spec allows it).
  header_text.append((8 - header_text.size() % 8) % 8, ' ');

  std::string out;
  out.reserve(8 + header_text.size() + offset);
  append_u64_le(out, header_text.size());
  out += header_text;
  for (const Pending& p : params) {
    if (!p.aux) {
      append_f32_le(out, p.value->data(), p.value->numel());
    } else if (p.aux->dtype == TensorDType::kF32) {
      append_f32_le(out, p.aux->f32.data(), static_cast<int64_t>(p.aux->f32.size()));
    } else if (p.aux->dtype == TensorDType::kI32) {
      append_i32_le(out, p.aux->i32.data(), static_cast<int64_t>(p.aux->i32.size()));
    } else {
      out.append(reinterpret_cast<const char*>(p.aux->i8.data()), p.aux->i8.size());
    }
  }
  return out;
}

}  // namespace

Result<std::string> serialize_model(const Graph& graph, const json& extra_metadata) {
  return serialize_impl(graph, extra_metadata, null_json(), {}, {}, {});
}

Result<std::string> serialize_model_contents(const ModelContents& c) {
  return serialize_impl(c.graph, c.extra, c.quantization, c.node_quantization, c.aux_tensors, c.weights_from_codes);
}

Result<ModelContents> parse_model_contents(std::string_view bytes, const ModelLimits& limits) {
  return parse_model_impl(bytes, clamp_limits(limits));
}

Result<Graph> parse_model(std::string_view bytes, json* extra_metadata, const ModelLimits& limits) {
  SLING_ASSIGN_OR_RETURN(ModelContents c, parse_model_impl(bytes, clamp_limits(limits)));
  SLING_RETURN_IF_ERROR(check_float_weights_present(c));
  if (extra_metadata) *extra_metadata = std::move(c.extra);
  return std::move(c.graph);
}

Status save_model_contents(const ModelContents& contents, const std::string& path) {
  SLING_ASSIGN_OR_RETURN(std::string bytes, serialize_model_contents(contents));
  return write_file_atomic(path, bytes);
}

Result<ModelContents> load_model_contents(const std::string& path, const ModelLimits& limits) {
  const ModelLimits l = clamp_limits(limits);
  const uint64_t max_size = 8 + l.max_header_bytes + static_cast<uint64_t>(l.max_total_params) * 4;
  SLING_ASSIGN_OR_RETURN(std::string bytes, read_file(path, static_cast<int64_t>(max_size)));
  return parse_model_impl(bytes, l);
}

Status save_model(const Graph& graph, const std::string& path, const json& extra_metadata) {
  SLING_ASSIGN_OR_RETURN(std::string bytes, serialize_model(graph, extra_metadata));
  return write_file_atomic(path, bytes);
}

Result<Graph> load_model(const std::string& path, json* extra_metadata, const ModelLimits& limits) {
  const ModelLimits l = clamp_limits(limits);
  const uint64_t max_size = 8 + l.max_header_bytes + static_cast<uint64_t>(l.max_total_params) * 4;
  SLING_ASSIGN_OR_RETURN(std::string bytes, read_file(path, static_cast<int64_t>(max_size)));
  SLING_ASSIGN_OR_RETURN(ModelContents c, parse_model_impl(bytes, l));
  SLING_RETURN_IF_ERROR(check_float_weights_present(c));
  if (extra_metadata) *extra_metadata = std::move(c.extra);
  return std::move(c.graph);
}

}  // namespace slingshot
