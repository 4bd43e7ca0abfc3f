// Export of an Int8Program to model_data.c/.h with a static arena plan (see c_model.h).
#include "export/c_model.h"

#include <algorithm>
#include <cstddef>
#include <numeric>

#include "core/version.h"
#include "export/c_text.h"
#include "cortexm/runtime/weight_packing.h"
#include "kernels/cortexm/dsp_scratch.h"

namespace slingshot {
namespace {

constexpr uint32_t kBufferAlignment = 16;  // room for word and SIMD loads in optimized kernels
constexpr uint64_t kMaxArenaBytes = 0x7fffffffu;

uint64_t align_up(uint64_t v) { return (v + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment; }

// The weight codes of a weighted op: OHWI conv, [1,kh,kw,C_out] depthwise, [out,in] dense.
int64_t weight_count(const Int8Op& op) {
  switch (op.kind) {
    case Int8OpKind::kConv2D:
      return static_cast<int64_t>(op.window.output.c) * op.window.kernel_h * op.window.kernel_w * op.window.input.c;
    case Int8OpKind::kDepthwiseConv2D:
      return static_cast<int64_t>(op.window.kernel_h) * op.window.kernel_w * op.window.output.c;
    case Int8OpKind::kDense:
      return static_cast<int64_t>(op.dense.out_dim) * op.dense.in_dim;
    default:
      return 0;
  }
}

bool is_weighted(const Int8Op& op) { return weight_count(op) > 0; }

// Flash bytes of a layer's weight array: int8 codes as they are, packed ones padded to a
// multiple of 4 bytes (the arrays are word aligned, so the padding is in .rodata anyway).
uint64_t flash_weight_bytes(uint32_t format, uint64_t count) {
  if (format == SLING_WEIGHTS_INT8) return count;
  return (sling_packed_weight_bytes(format, count) + 3) / 4 * 4;
}

// Scratch the op's Cortex-M DSP kernel needs (kernels/cortexm/dsp_scratch.h); 0 if none.
int64_t scratch_bytes_of(const Int8Op& op) {
  if (op.kind == Int8OpKind::kConv2D)
    return conv2d_s8__dsp_scratch_size(op.window.kernel_h, op.window.kernel_w, op.window.input.c, op.window.output.c);
  if (op.kind == Int8OpKind::kDense) return dense_s8__dsp_scratch_size(op.dense.in_dim, op.dense.out_dim);
  return 0;
}

const char* kind_macro(uint32_t kind) {
  static const char* const names[SLING_LAYER_KIND_COUNT] = {
      "SLING_LAYER_CONV2D",   "SLING_LAYER_DEPTHWISE_CONV2D", "SLING_LAYER_DENSE", "SLING_LAYER_MAX_POOL",
      "SLING_LAYER_AVG_POOL", "SLING_LAYER_GLOBAL_AVG_POOL",  "SLING_LAYER_ADD",   "SLING_LAYER_CLAMP",
      "SLING_LAYER_THERMOMETER"};
  return names[kind];
}

void set_window(sling_layer& l, const WindowShape& s) {
  l.in_h = s.input.h;
  l.in_w = s.input.w;
  l.in_c = s.input.c;
  l.out_h = s.output.h;
  l.out_w = s.output.w;
  l.out_c = s.output.c;
  l.kernel_h = s.kernel_h;
  l.kernel_w = s.kernel_w;
  l.stride_h = s.stride_h;
  l.stride_w = s.stride_w;
  l.pad_top = s.pad_top;
  l.pad_left = s.pad_left;
}

sling_layer layer_of(const Int8Op& op, const ArenaPlan& arena) {
  sling_layer l{};
  l.act_min = op.clamp_min;
  l.act_max = op.clamp_max;
  l.input = arena.offsets[op.input];
  l.output = arena.offsets[op.output];
  if (is_weighted(op)) {
    l.input_offset = op.conv.input_offset;
    l.output_offset = op.conv.output_offset;
    l.act_min = op.conv.activation_min;
    l.act_max = op.conv.activation_max;
    l.weights = op.weights;
    l.bias = op.bias;
    l.multipliers = op.multipliers.data();
    l.shifts = op.shifts.data();
  }
  switch (op.kind) {
    case Int8OpKind::kConv2D:
      l.kind = SLING_LAYER_CONV2D;
      set_window(l, op.window);
      break;
    case Int8OpKind::kDepthwiseConv2D:
      l.kind = SLING_LAYER_DEPTHWISE_CONV2D;
      set_window(l, op.window);
      break;
    case Int8OpKind::kDense:
      l.kind = SLING_LAYER_DENSE;
      l.in_c = op.dense.in_dim;
      l.out_c = op.dense.out_dim;
      break;
    case Int8OpKind::kMaxPool:
    case Int8OpKind::kAvgPool:
      l.kind = op.kind == Int8OpKind::kMaxPool ? SLING_LAYER_MAX_POOL : SLING_LAYER_AVG_POOL;
      set_window(l, op.window);
      l.act_min = op.pool.activation_min;
      l.act_max = op.pool.activation_max;
      break;
    case Int8OpKind::kGlobalAvgPool:
      l.kind = SLING_LAYER_GLOBAL_AVG_POOL;
      l.in_h = op.mean_input.h;
      l.in_w = op.mean_input.w;
      l.in_c = op.mean_input.c;
      l.out_h = l.out_w = 1;
      l.out_c = op.mean_input.c;
      l.input_offset = op.mean.input_offset;
      l.output_offset = op.mean.output_offset;
      l.multiplier = op.mean.multiplier;
      l.shift = op.mean.shift;
      l.act_min = op.mean.activation_min;
      l.act_max = op.mean.activation_max;
      break;
    case Int8OpKind::kAdd:
      l.kind = SLING_LAYER_ADD;
      l.elements = static_cast<int32_t>(op.elements);
      l.input2 = arena.offsets[op.input2];
      l.add_left_shift = op.add.left_shift;
      l.input_offset = op.add.input1_offset;
      l.input1_multiplier = op.add.input1_multiplier;
      l.input1_shift = op.add.input1_shift;
      l.input2_offset = op.add.input2_offset;
      l.input2_multiplier = op.add.input2_multiplier;
      l.input2_shift = op.add.input2_shift;
      l.output_offset = op.add.output_offset;
      l.multiplier = op.add.output_multiplier;
      l.shift = op.add.output_shift;
      l.act_min = op.add.activation_min;
      l.act_max = op.add.activation_max;
      break;
    case Int8OpKind::kClamp:
      l.kind = SLING_LAYER_CLAMP;
      l.elements = static_cast<int32_t>(op.elements);
      break;
    case Int8OpKind::kThermometer:
      // The per-level thresholds go in `multipliers`, the clear/set codes in act_min/act_max.
      l.kind = SLING_LAYER_THERMOMETER;
      l.elements = static_cast<int32_t>(op.elements);
      l.out_c = op.thermometer.levels;
      l.act_min = op.thermometer.zero_code;
      l.act_max = op.thermometer.one_code;
      l.multipliers = op.thresholds.data();
      break;
  }
  return l;
}

// "ternary" for SLING_WEIGHTS_TERNARY, and the codes it holds.
const char* weight_format_name(uint32_t format) {
  static const char* const names[SLING_WEIGHTS_FORMAT_COUNT] = {"int8", "int4", "ternary", "binary"};
  return format < SLING_WEIGHTS_FORMAT_COUNT ? names[format] : "unknown";
}
const char* weight_format_codes(uint32_t format) {
  static const char* const codes[SLING_WEIGHTS_FORMAT_COUNT] = {"-128..127", "-7..7", "-1, 0, 1", "-1, 1"};
  return format < SLING_WEIGHTS_FORMAT_COUNT ? codes[format] : "none";
}
const char* weight_format_macro(uint32_t format) {
  static const char* const names[SLING_WEIGHTS_FORMAT_COUNT] = {"SLING_WEIGHTS_INT8", "SLING_WEIGHTS_INT4",
                                                                "SLING_WEIGHTS_TERNARY", "SLING_WEIGHTS_BINARY"};
  return names[format];
}

// "CONV2D" for SLING_LAYER_CONV2D.
std::string kind_name(uint32_t kind) { return kind_macro(kind) + 12; }

}  // namespace

Result<ArenaPlan> plan_arena(const Int8Program& p, WeightScheme weights) {
  const size_t buffers = p.buffer_elements.size();
  const uint32_t format = weight_format_of(weights);
  const int end = static_cast<int>(p.ops.size());
  // Regions planned like buffers after the program's buffers: the kernel scratch, alive
  // from the first to the last op that needs it, as large as the largest need; then one
  // unpack buffer per op, alive during that op, as large as its packed filter (or empty).
  const size_t scratch = buffers, unpack = buffers + 1, regions = unpack + p.ops.size();
  std::vector<uint64_t> size(regions, 0);
  std::vector<int> first(regions, end + 1), last(regions, -2);
  auto need = [&](size_t region, int op, uint64_t bytes) {
    if (bytes == 0) return;
    size[region] = std::max(size[region], bytes);
    first[region] = std::min(first[region], op);
    last[region] = std::max(last[region], op);
  };
  for (size_t b = 0; b < buffers; ++b) size[b] = static_cast<uint64_t>(p.buffer_elements[b]);
  first[p.input_buffer] = -1;
  last[p.input_buffer] = -1;
  for (int i = 0; i < end; ++i) {
    const Int8Op& op = p.ops[i];
    for (int b : {op.input, op.input2}) {
      if (b < 0) continue;
      if (static_cast<size_t>(b) >= buffers) return internal_error("op reads a buffer the program does not have");
      last[b] = std::max(last[b], i);
    }
    if (op.output < 0 || static_cast<size_t>(op.output) >= buffers)
      return internal_error("op writes a buffer the program does not have");
    first[op.output] = std::min(first[op.output], i);
    last[op.output] = std::max(last[op.output], i);
    need(scratch, i, static_cast<uint64_t>(scratch_bytes_of(op)));
    need(unpack + static_cast<size_t>(i), i, sling_unpack_buffer_bytes(format, static_cast<uint64_t>(weight_count(op))));
  }
  last[p.output_buffer] = end;  // read by the caller after the last op
  ArenaPlan plan;
  std::vector<uint64_t> offsets(regions, 0);
  std::vector<size_t> order(regions);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return size[a] > size[b]; });
  std::vector<size_t> placed;
  uint64_t peak = 0;
  for (size_t b : order) {
    if (last[b] < first[b]) continue;  // never written nor read: takes no room
    plan.unshared_bytes += size[b];
    // Buffers alive at the same time as b, by offset.
    std::vector<std::pair<uint64_t, uint64_t>> busy;
    for (size_t o : placed)
      if (first[o] <= last[b] && first[b] <= last[o]) busy.push_back({offsets[o], offsets[o] + size[o]});
    std::sort(busy.begin(), busy.end());
    uint64_t offset = 0;
    for (const auto& [lo, hi] : busy) {
      if (offset + size[b] <= lo) break;
      offset = std::max(offset, align_up(hi));
    }
    if (offset + size[b] > kMaxArenaBytes)
      return invalid_argument("the activations, kernel scratch and unpacked weights need more than 2 GB of arena");
    offsets[b] = offset;
    peak = std::max(peak, offset + size[b]);
    placed.push_back(b);
  }
  plan.offsets.assign(offsets.begin(), offsets.begin() + static_cast<std::ptrdiff_t>(buffers));
  if (last[scratch] >= first[scratch]) {
    plan.scratch_offset = static_cast<uint32_t>(offsets[scratch]);
    plan.scratch_bytes = static_cast<uint32_t>(size[scratch]);
  }
  for (size_t i = 0; i < p.ops.size(); ++i) {
    plan.unpack_offsets.push_back(static_cast<uint32_t>(offsets[unpack + i]));
    plan.unpack_bytes = std::max(plan.unpack_bytes, static_cast<uint32_t>(size[unpack + i]));
  }
  plan.arena_bytes = static_cast<uint32_t>(align_up(peak));
  return plan;
}

uint32_t weight_format_of(WeightScheme scheme) {
  switch (scheme) {
    case WeightScheme::kInt4: return SLING_WEIGHTS_INT4;
    case WeightScheme::kTernary: return SLING_WEIGHTS_TERNARY;
    case WeightScheme::kBinary: return SLING_WEIGHTS_BINARY;
    case WeightScheme::kInt8: break;
  }
  return SLING_WEIGHTS_INT8;
}

Result<std::vector<uint8_t>> pack_weights(uint32_t format, const int8_t* codes, uint64_t count) {
  const uint32_t bits = sling_weight_bits(format);
  if (bits == 0) return invalid_argument("unknown weight format " + std::to_string(format));
  if (format == SLING_WEIGHTS_INT8) return std::vector<uint8_t>(codes, codes + count);
  const int32_t lowest = format == SLING_WEIGHTS_INT4 ? -7 : -1, highest = -lowest;
  std::vector<uint8_t> packed(sling_packed_weight_bytes(format, count), 0);
  const uint32_t per_byte = 8 / bits, mask = (1u << bits) - 1;
  for (uint64_t i = 0; i < count; ++i) {
    const int32_t v = codes[i];
    if (v < lowest || v > highest || (format == SLING_WEIGHTS_BINARY && v == 0))
      return invalid_argument("weight " + std::to_string(i) + " is " + std::to_string(v) + ", outside the " +
                              weight_format_name(format) + " codes (" + weight_format_codes(format) + ")");
    // Binary keeps the sign bit (1 = +1); the others keep the code's low bits (two's complement).
    const uint32_t field = format == SLING_WEIGHTS_BINARY ? (v > 0 ? 1u : 0u) : static_cast<uint32_t>(v) & mask;
    packed[i / per_byte] |= static_cast<uint8_t>(field << (i % per_byte * bits));
  }
  return packed;
}

Result<CModelTable> build_c_model_table(const Int8Program& p, WeightScheme weights) {
  CModelTable t;
  SLING_ASSIGN_OR_RETURN(t.arena, plan_arena(p, weights));
  const uint32_t format = weight_format_of(weights);
  t.packed_weights.resize(p.ops.size());
  for (size_t i = 0; i < p.ops.size(); ++i) {
    const Int8Op& op = p.ops[i];
    if (op.elements > INT32_MAX) return invalid_argument("a layer has more than 2^31 elements");
    sling_layer l = layer_of(op, t.arena);
    if (op.kind == Int8OpKind::kThermometer) {
      if (op.thermometer.levels <= 0 || op.thresholds.size() != static_cast<size_t>(op.thermometer.levels))
        return internal_error("a thermometer op's thresholds do not match its levels");
      t.constant_bytes += op.thresholds.size() * sizeof(int32_t);
    }
    if (is_weighted(op)) {
      if (!op.weights) return internal_error("a weighted op has no weights");
      const uint64_t count = static_cast<uint64_t>(weight_count(op));
      if (sling_layer_weight_count(&l) != count) return internal_error("the layer table miscounts a layer's weights");
      const int64_t channels = static_cast<int64_t>(op.multipliers.size());
      t.constant_bytes += flash_weight_bytes(format, count) + channels * (op.bias ? 12 : 8);
      if (format != SLING_WEIGHTS_INT8) {
        auto packed = pack_weights(format, op.weights, count);
        if (!packed.ok())
          return packed.status().with_context("layer " + std::to_string(i) + " (" + kind_name(l.kind) + ") of a " +
                                              weight_scheme_name(weights) + " model");
        t.packed_weights[i] = std::move(packed.value());
        l.weight_format = format;
        l.weights = t.packed_weights[i].data();
        l.unpack = t.arena.unpack_offsets[i];
      }
    }
    t.layers.push_back(l);
  }
  // The table and descriptor as the 32-bit device lays them out: every field 4 bytes, no
  // padding (a 64-bit host has 8-byte pointers and pads sling_layer before `weights`).
  constexpr uint64_t kDeviceLayerBytes = offsetof(sling_layer, weight_format) + 4 + 4 * 4 +
                                         (offsetof(sling_layer, unpack) + 4 - offsetof(sling_layer, input));
  t.constant_bytes += t.layers.size() * kDeviceLayerBytes + (sizeof(sling_model) - (sizeof(void*) - 4));
  sling_model& m = t.model;
  m.format_version = SLING_MODEL_FORMAT_VERSION;
  m.rounding = p.rounding == RoundingMode::kSingle ? SLING_ROUNDING_SINGLE : SLING_ROUNDING_DOUBLE;
  m.layer_count = static_cast<uint32_t>(t.layers.size());
  m.arena_bytes = t.arena.arena_bytes;
  m.scratch_offset = t.arena.scratch_offset;
  m.scratch_bytes = t.arena.scratch_bytes;
  m.input_offset = t.arena.offsets[p.input_buffer];
  m.input_bytes = static_cast<uint32_t>(p.buffer_elements[p.input_buffer]);
  m.output_offset = t.arena.offsets[p.output_buffer];
  m.output_bytes = static_cast<uint32_t>(p.buffer_elements[p.output_buffer]);
  m.input_scale = p.input_grid.scale;
  m.input_zero_point = p.input_grid.zero_point;
  m.output_scale = p.output_grid.scale;
  m.output_zero_point = p.output_grid.zero_point;
  return t;
}

CModelSource c_model_source(const Int8Program& p, const CModelTable& t, const std::string& comment) {
  const sling_model& m = t.model;
  auto num = [](auto v) { return std::to_string(v); };
  CModelSource out;
  std::string& h = out.header;
  const std::string banner = "// Generated by Slingshot " SLING_VERSION " (slingshot export-c).\n" +
                             (comment.empty() ? std::string() : "// " + comment + "\n");
  h += banner;
  h += "// The model's compile-time constants; model_data.c holds its weights and layer table.\n";
  h += "// Run it with sling_model_run() (cortexm/runtime/model_runtime.h) on an arena of\n";
  h += "// SLING_MODEL_ARENA_BYTES bytes; tensors are int8 NHWC, real = scale * (code - zero_point).\n";
  h += "#ifndef SLINGSHOT_MODEL_DATA_H_\n#define SLINGSHOT_MODEL_DATA_H_\n\n";
  h += "#include \"cortexm/runtime/model_format.h\"\n\n";
  h += "#define SLING_MODEL_ARENA_BYTES " + num(m.arena_bytes) + "u\n";
  h += "#define SLING_MODEL_SCRATCH_OFFSET " + num(m.scratch_offset) + "u /* DSP kernel scratch, in the arena */\n";
  h += "#define SLING_MODEL_SCRATCH_BYTES " + num(m.scratch_bytes) + "u\n";
  h += "#define SLING_MODEL_CONSTANT_BYTES " + num(t.constant_bytes) + "u /* weights, tables, layer table */\n";
  h += "#define SLING_MODEL_LAYER_COUNT " + num(m.layer_count) + "u\n";
  h += "#define SLING_MODEL_INPUT_BYTES " + num(m.input_bytes) + "u\n";
  if (p.input_shape.size() == 3) {
    h += "#define SLING_MODEL_INPUT_H " + num(p.input_shape[0]) + "\n";
    h += "#define SLING_MODEL_INPUT_W " + num(p.input_shape[1]) + "\n";
    h += "#define SLING_MODEL_INPUT_C " + num(p.input_shape[2]) + "\n";
  }
  h += "#define SLING_MODEL_INPUT_SCALE " + float_literal(m.input_scale) + "\n";
  h += "#define SLING_MODEL_INPUT_ZERO_POINT (" + num(m.input_zero_point) + ")\n";
  h += "#define SLING_MODEL_OUTPUT_BYTES " + num(m.output_bytes) + "u\n";
  h += "#define SLING_MODEL_OUTPUT_SCALE " + float_literal(m.output_scale) + "\n";
  h += "#define SLING_MODEL_OUTPUT_ZERO_POINT (" + num(m.output_zero_point) + ")\n\n";
  h += "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  h += "extern const sling_model slingshot_model;\n\n";
  h += "#ifdef __cplusplus\n}\n#endif\n\n#endif /* SLINGSHOT_MODEL_DATA_H_ */\n";

  std::string& c = out.source;
  c.reserve(static_cast<size_t>(t.constant_bytes) * 5 + 4096);
  c += banner;
  c += "// Weights and requantization tables are const (flash); the layer table gives each\n";
  c += "// layer's geometry, quantization and arena offsets (planned peak " + num(m.arena_bytes) +
       " bytes, " + num(t.arena.unshared_bytes) + " unshared, kernel scratch" + (t.arena.unpack_bytes > 0 ? " and unpack buffers" : "") + " included).\n";
  c += "#include \"model_data.h\"\n\n";
  c += "#if defined(__GNUC__)\n#define SLING_MODEL_ALIGN __attribute__((aligned(4)))\n#else\n#define SLING_MODEL_ALIGN\n#endif\n";
  for (size_t i = 0; i < p.ops.size(); ++i) {
    const Int8Op& op = p.ops[i];
    const std::string n = "layer" + num(i);
    if (op.kind == Int8OpKind::kThermometer) {
      c += "\n// Layer " + num(i) + " (" + kind_name(t.layers[i].kind) + "): the input code each level starts at\n";
      c += "static const int32_t " + n + "_thresholds[" + num(op.thresholds.size()) + "] = {" +
           c_array_body(op.thresholds.data(), op.thresholds.size()) + "};\n";
    }
    if (!is_weighted(op)) continue;
    const size_t channels = op.multipliers.size();
    c += "\n// Layer " + num(i) + " (" + kind_name(t.layers[i].kind) + ")\n";
    const std::vector<uint8_t>& packed = t.packed_weights[i];
    if (t.layers[i].weight_format == SLING_WEIGHTS_INT8)
      c += "static const int8_t " + n + "_weights[" + num(weight_count(op)) + "] SLING_MODEL_ALIGN = {" +
           c_array_body(op.weights, static_cast<size_t>(weight_count(op))) + "};\n";
    else  // the declared length pads the packed bytes with zeros to a whole word
      c += "static const uint8_t " + n + "_weights[" +
           num(flash_weight_bytes(t.layers[i].weight_format, static_cast<uint64_t>(weight_count(op)))) +
           "] SLING_MODEL_ALIGN = { /* " + num(weight_count(op)) + " codes, " +
           weight_format_name(t.layers[i].weight_format) + " packed */" + c_array_body(packed.data(), packed.size()) +
           "};\n";
    if (op.bias)
      c += "static const int32_t " + n + "_bias[" + num(channels) + "] = {" + c_array_body(op.bias, channels) + "};\n";
    c += "static const int32_t " + n + "_multipliers[" + num(channels) + "] = {" +
         c_array_body(op.multipliers.data(), channels) + "};\n";
    c += "static const int32_t " + n + "_shifts[" + num(channels) + "] = {" + c_array_body(op.shifts.data(), channels) +
         "};\n";
  }
  c += "\nstatic const sling_layer slingshot_layers[SLING_MODEL_LAYER_COUNT] = {\n";
  for (size_t i = 0; i < t.layers.size(); ++i) {
    const sling_layer& l = t.layers[i];
    const std::string n = "layer" + num(i);
    auto field = [&](const char* name, int64_t v) { c += std::string(" .") + name + " = " + std::to_string(v) + ","; };
    c += "  {.kind = " + std::string(kind_macro(l.kind)) + ",";
    field("in_h", l.in_h), field("in_w", l.in_w), field("in_c", l.in_c);
    field("out_h", l.out_h), field("out_w", l.out_w), field("out_c", l.out_c);
    field("kernel_h", l.kernel_h), field("kernel_w", l.kernel_w), field("stride_h", l.stride_h);
    field("stride_w", l.stride_w), field("pad_top", l.pad_top), field("pad_left", l.pad_left);
    field("elements", l.elements), field("input_offset", l.input_offset), field("output_offset", l.output_offset);
    field("act_min", l.act_min), field("act_max", l.act_max), field("multiplier", l.multiplier);
    field("shift", l.shift), field("add_left_shift", l.add_left_shift), field("input2_offset", l.input2_offset);
    field("input1_multiplier", l.input1_multiplier), field("input1_shift", l.input1_shift);
    field("input2_multiplier", l.input2_multiplier), field("input2_shift", l.input2_shift);
    if (l.weights) {
      if (l.weight_format != SLING_WEIGHTS_INT8)
        c += std::string(" .weight_format = ") + weight_format_macro(l.weight_format) + ",";
      c += " .weights = " + n + "_weights,";
      if (l.bias) c += " .bias = " + n + "_bias,";
      c += " .multipliers = " + n + "_multipliers, .shifts = " + n + "_shifts,";
    } else if (l.kind == SLING_LAYER_THERMOMETER) {
      c += " .multipliers = " + n + "_thresholds,";
    }
    field("input", l.input), field("input2", l.input2), field("output", l.output);
    if (l.weight_format != SLING_WEIGHTS_INT8) field("unpack", l.unpack);  // int8 tables stay as they were
    c += "},\n";
  }
  c += "};\n\nconst sling_model slingshot_model = {\n";
  c += "    .format_version = SLING_MODEL_FORMAT_VERSION,\n";
  c += std::string("    .rounding = ") +
       (m.rounding == SLING_ROUNDING_SINGLE ? "SLING_ROUNDING_SINGLE" : "SLING_ROUNDING_DOUBLE") + ",\n";
  c += "    .layers = slingshot_layers,\n    .layer_count = SLING_MODEL_LAYER_COUNT,\n";
  c += "    .arena_bytes = SLING_MODEL_ARENA_BYTES,\n";
  c += "    .scratch_offset = SLING_MODEL_SCRATCH_OFFSET,\n    .scratch_bytes = SLING_MODEL_SCRATCH_BYTES,\n";
  c += "    .input_offset = " + num(m.input_offset) + ",\n    .input_bytes = SLING_MODEL_INPUT_BYTES,\n";
  c += "    .output_offset = " + num(m.output_offset) + ",\n    .output_bytes = SLING_MODEL_OUTPUT_BYTES,\n";
  c += "    .input_scale = SLING_MODEL_INPUT_SCALE,\n    .input_zero_point = SLING_MODEL_INPUT_ZERO_POINT,\n";
  c += "    .output_scale = SLING_MODEL_OUTPUT_SCALE,\n    .output_zero_point = SLING_MODEL_OUTPUT_ZERO_POINT,\n};\n";
  return out;
}

}  // namespace slingshot
