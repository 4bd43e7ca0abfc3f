// The device runtime (model_runtime.h): validates an exported layer table, then calls the
// int8 kernels layer by layer on arena offsets (kernel_dispatch.h picks the variant),
// expanding packed low-bit weights into the layer's unpack buffer first (weight_packing.h)
// so the kernels only ever see int8 codes. No heap, no exceptions: every failure is a
// sling_status, found before the first kernel runs.
#include "cortexm/runtime/model_runtime.h"

#include "cortexm/runtime/kernel_dispatch.h"
#include "cortexm/runtime/weight_packing.h"
#include "kernels/cortexm/dsp_scratch.h"
#include "kernels/ref/add_s8__ref.h"
#include "kernels/ref/avg_pool2d_s8__ref.h"
#include "kernels/ref/global_avg_pool_s8__ref.h"
#include "kernels/ref/max_pool2d_s8__ref.h"
#include "kernels/ref/thermometer_s8__ref.h"

namespace {

using slingshot::ConvQuantParams;
using slingshot::Dims4;
using slingshot::RoundingMode;
using slingshot::WindowShape;

bool is_window_kind(uint32_t kind) {
  return kind == SLING_LAYER_CONV2D || kind == SLING_LAYER_DEPTHWISE_CONV2D || kind == SLING_LAYER_MAX_POOL ||
         kind == SLING_LAYER_AVG_POOL;
}
bool is_weighted_kind(uint32_t kind) {
  return kind == SLING_LAYER_CONV2D || kind == SLING_LAYER_DEPTHWISE_CONV2D || kind == SLING_LAYER_DENSE;
}

// Bytes a layer reads from `input` (and from `input2`, for add) and writes to `output`.
void buffer_bytes(const sling_layer& l, uint64_t& in, uint64_t& out) {
  const uint64_t in_hwc = static_cast<uint64_t>(l.in_h) * static_cast<uint64_t>(l.in_w) * static_cast<uint64_t>(l.in_c);
  const uint64_t out_hwc =
      static_cast<uint64_t>(l.out_h) * static_cast<uint64_t>(l.out_w) * static_cast<uint64_t>(l.out_c);
  switch (l.kind) {
    case SLING_LAYER_DENSE:
      in = static_cast<uint64_t>(l.in_c);
      out = static_cast<uint64_t>(l.out_c);
      return;
    case SLING_LAYER_GLOBAL_AVG_POOL:
      in = in_hwc;
      out = static_cast<uint64_t>(l.out_c);
      return;
    case SLING_LAYER_ADD:
    case SLING_LAYER_CLAMP:
      in = out = static_cast<uint64_t>(l.elements);
      return;
    case SLING_LAYER_THERMOMETER:  // out_c levels per input code
      in = static_cast<uint64_t>(l.elements);
      out = in * static_cast<uint64_t>(l.out_c);
      return;
    default:
      in = in_hwc;
      out = out_hwc;
  }
}

// A window op whose every output position overlaps the input (so pools never average
// zero taps) and whose channel counts match its kind.
bool window_geometry_ok(const sling_layer& l) {
  if (l.in_h <= 0 || l.in_w <= 0 || l.in_c <= 0 || l.out_h <= 0 || l.out_w <= 0 || l.out_c <= 0) return false;
  if (l.kernel_h <= 0 || l.kernel_w <= 0 || l.stride_h <= 0 || l.stride_w <= 0) return false;
  if (l.pad_top < 0 || l.pad_left < 0 || l.pad_top >= l.kernel_h || l.pad_left >= l.kernel_w) return false;
  if (static_cast<int64_t>(l.out_h - 1) * l.stride_h - l.pad_top >= l.in_h) return false;
  if (static_cast<int64_t>(l.out_w - 1) * l.stride_w - l.pad_left >= l.in_w) return false;
  if (l.kind == SLING_LAYER_DEPTHWISE_CONV2D) return l.out_c % l.in_c == 0;
  if (l.kind == SLING_LAYER_MAX_POOL || l.kind == SLING_LAYER_AVG_POOL) return l.out_c == l.in_c;
  return true;
}

// Scratch bytes the layer's DSP kernel needs (0 for kinds that take none). Checked on
// every target, so a table that runs on the host also runs on a DSP core.
uint64_t scratch_needed(const sling_layer& l) {
  if (l.kind == SLING_LAYER_CONV2D)
    return static_cast<uint64_t>(slingshot::conv2d_s8__dsp_scratch_size(l.kernel_h, l.kernel_w, l.in_c, l.out_c));
  if (l.kind == SLING_LAYER_DENSE) return static_cast<uint64_t>(slingshot::dense_s8__dsp_scratch_size(l.in_c, l.out_c));
  return 0;
}

bool overlaps(uint64_t a, uint64_t a_bytes, uint64_t b, uint64_t b_bytes) { return a < b + b_bytes && b < a + a_bytes; }

sling_status check_layer(const sling_layer& l, const sling_model& m) {
  const uint32_t arena_bytes = m.arena_bytes;
  if (l.kind >= SLING_LAYER_KIND_COUNT) return SLING_ERROR_BAD_LAYER_KIND;
  if (is_window_kind(l.kind)) {
    if (!window_geometry_ok(l)) return SLING_ERROR_BAD_GEOMETRY;
  } else if (l.kind == SLING_LAYER_DENSE) {
    if (l.in_c <= 0 || l.out_c <= 0) return SLING_ERROR_BAD_GEOMETRY;
  } else if (l.kind == SLING_LAYER_GLOBAL_AVG_POOL) {
    if (l.in_h <= 0 || l.in_w <= 0 || l.in_c <= 0 || l.out_c != l.in_c) return SLING_ERROR_BAD_GEOMETRY;
  } else if (l.elements <= 0 || (l.kind == SLING_LAYER_THERMOMETER && l.out_c <= 0)) {
    return SLING_ERROR_BAD_GEOMETRY;
  }
  if (is_weighted_kind(l.kind) && (!l.weights || !l.multipliers || !l.shifts)) return SLING_ERROR_NULL_ARGUMENT;
  if (l.kind == SLING_LAYER_THERMOMETER && !l.multipliers) return SLING_ERROR_NULL_ARGUMENT;  // its thresholds
  uint64_t in = 0, out = 0;
  buffer_bytes(l, in, out);
  if (l.input + in > arena_bytes || l.output + out > arena_bytes) return SLING_ERROR_BUFFER_OUT_OF_ARENA;
  if (l.kind == SLING_LAYER_ADD && l.input2 + in > arena_bytes) return SLING_ERROR_BUFFER_OUT_OF_ARENA;
  const uint64_t scratch = scratch_needed(l);
  if (scratch > 0 && (scratch > m.scratch_bytes || overlaps(m.scratch_offset, m.scratch_bytes, l.input, in) ||
                      overlaps(m.scratch_offset, m.scratch_bytes, l.output, out)))
    return SLING_ERROR_BAD_SCRATCH;
  if (l.weight_format >= SLING_WEIGHTS_FORMAT_COUNT) return SLING_ERROR_BAD_WEIGHT_FORMAT;
  const uint64_t unpack =
      is_weighted_kind(l.kind) ? sling_unpack_buffer_bytes(l.weight_format, sling_layer_weight_count(&l)) : 0;
  if (unpack > 0 && (l.unpack % 4 != 0 || l.unpack + unpack > arena_bytes || overlaps(l.unpack, unpack, l.input, in) ||
                     overlaps(l.unpack, unpack, l.output, out) ||
                     (scratch > 0 && overlaps(l.unpack, unpack, m.scratch_offset, m.scratch_bytes))))
    return SLING_ERROR_BAD_UNPACK_BUFFER;
  return SLING_OK;
}

WindowShape window_of(const sling_layer& l) {
  WindowShape s{};
  s.input = Dims4{1, l.in_h, l.in_w, l.in_c};
  s.output = Dims4{1, l.out_h, l.out_w, l.out_c};
  s.kernel_h = l.kernel_h;
  s.kernel_w = l.kernel_w;
  s.stride_h = l.stride_h;
  s.stride_w = l.stride_w;
  s.pad_top = l.pad_top;
  s.pad_left = l.pad_left;
  return s;
}

void run_layer(const sling_layer& l, RoundingMode rounding, int8_t* arena, int32_t* scratch) {
  const int8_t* in = arena + l.input;
  int8_t* out = arena + l.output;
  const int8_t* weights = static_cast<const int8_t*>(l.weights);
  if (is_weighted_kind(l.kind) && l.weight_format != SLING_WEIGHTS_INT8) {
    // check_layer kept the whole filter inside the arena, so its count fits a uint32.
    int8_t* const unpacked = arena + l.unpack;
    sling_unpack_weights(l.weight_format, static_cast<const uint8_t*>(l.weights),
                         static_cast<uint32_t>(sling_layer_weight_count(&l)), unpacked);
    weights = unpacked;
  }
  const ConvQuantParams conv{l.input_offset, l.output_offset, l.multipliers, l.shifts, true,
                             l.act_min,      l.act_max,       rounding};
  switch (l.kind) {
    case SLING_LAYER_CONV2D:
      slingshot::mcu::conv2d_s8(window_of(l), conv, in, weights, l.bias, out, scratch);
      break;
    case SLING_LAYER_DEPTHWISE_CONV2D:
      slingshot::mcu::depthwise_conv2d_s8(window_of(l), conv, in, weights, l.bias, out);
      break;
    case SLING_LAYER_DENSE:
      slingshot::mcu::dense_s8({1, l.in_c, l.out_c}, conv, in, weights, l.bias, out, scratch);
      break;
    case SLING_LAYER_MAX_POOL:
      slingshot::max_pool2d_s8__ref(window_of(l), {l.act_min, l.act_max}, in, out);
      break;
    case SLING_LAYER_AVG_POOL:
      slingshot::avg_pool2d_s8__ref(window_of(l), {l.act_min, l.act_max}, in, out);
      break;
    case SLING_LAYER_GLOBAL_AVG_POOL: {
      const slingshot::MeanQuantParams mean{l.input_offset, l.output_offset, l.multiplier, l.shift,
                                            l.act_min,      l.act_max,       rounding};
      slingshot::global_avg_pool_s8__ref(Dims4{1, l.in_h, l.in_w, l.in_c}, mean, in, out);
      break;
    }
    case SLING_LAYER_ADD: {
      const slingshot::AddQuantParams add{l.add_left_shift,    l.input_offset,  l.input1_multiplier, l.input1_shift,
                                          l.input2_offset,     l.input2_multiplier, l.input2_shift,  l.output_offset,
                                          l.multiplier,        l.shift,         l.act_min,           l.act_max,
                                          rounding};
      slingshot::add_s8__ref(l.elements, add, in, arena + l.input2, out);
      break;
    }
    case SLING_LAYER_THERMOMETER: {
      // One threshold per level (in `multipliers`), act_min/act_max the clear/set codes.
      const slingshot::ThermometerQuantParams thermometer{l.out_c, l.multipliers, l.act_min, l.act_max};
      slingshot::thermometer_s8__ref(l.elements, thermometer, in, out);
      break;
    }
    default:  // SLING_LAYER_CLAMP (check_layer admitted no other kind)
      for (int32_t i = 0; i < l.elements; ++i)
        out[i] = static_cast<int8_t>(slingshot::clamp_to_range(in[i], l.act_min, l.act_max));
      break;
  }
}

}  // namespace

extern "C" sling_status sling_model_check(const sling_model* model, uint32_t arena_bytes) {
  if (!model || (!model->layers && model->layer_count > 0)) return SLING_ERROR_NULL_ARGUMENT;
  if (model->format_version != SLING_MODEL_FORMAT_VERSION) return SLING_ERROR_FORMAT_VERSION;
  if (model->rounding != SLING_ROUNDING_DOUBLE && model->rounding != SLING_ROUNDING_SINGLE)
    return SLING_ERROR_FORMAT_VERSION;
  if (arena_bytes < model->arena_bytes) return SLING_ERROR_ARENA_TOO_SMALL;
  if (static_cast<uint64_t>(model->input_offset) + model->input_bytes > model->arena_bytes ||
      static_cast<uint64_t>(model->output_offset) + model->output_bytes > model->arena_bytes)
    return SLING_ERROR_BUFFER_OUT_OF_ARENA;
  if (static_cast<uint64_t>(model->scratch_offset) + model->scratch_bytes > model->arena_bytes ||
      model->scratch_offset % 4 != 0)
    return SLING_ERROR_BAD_SCRATCH;
  for (uint32_t i = 0; i < model->layer_count; ++i) {
    const sling_status s = check_layer(model->layers[i], *model);
    if (s != SLING_OK) return s;
  }
  return SLING_OK;
}

extern "C" sling_status sling_model_run(const sling_model* model, int8_t* arena, uint32_t arena_bytes,
                                        sling_layer_hook hook, void* user) {
  if (!arena) return SLING_ERROR_NULL_ARGUMENT;
  const sling_status s = sling_model_check(model, arena_bytes);
  if (s != SLING_OK) return s;
  // The DSP kernels read and write their scratch as int32 words.
  if (model->scratch_bytes > 0 && reinterpret_cast<uintptr_t>(arena + model->scratch_offset) % 4 != 0)
    return SLING_ERROR_BAD_SCRATCH;
  int32_t* const scratch = reinterpret_cast<int32_t*>(arena + model->scratch_offset);
  const RoundingMode rounding =
      model->rounding == SLING_ROUNDING_SINGLE ? RoundingMode::kSingle : RoundingMode::kDouble;
  for (uint32_t i = 0; i < model->layer_count; ++i) {
    if (hook) hook(user, i, 0);
    run_layer(model->layers[i], rounding, arena, scratch);
    if (hook) hook(user, i, 1);
  }
  return SLING_OK;
}

extern "C" const char* sling_status_message(sling_status status) {
  switch (status) {
    case SLING_OK: return "ok";
    case SLING_ERROR_NULL_ARGUMENT: return "null model, arena, weight or threshold table";
    case SLING_ERROR_FORMAT_VERSION: return "model data written for another runtime version";
    case SLING_ERROR_ARENA_TOO_SMALL: return "arena smaller than the model needs";
    case SLING_ERROR_BAD_LAYER_KIND: return "unknown layer kind";
    case SLING_ERROR_BAD_GEOMETRY: return "inconsistent layer geometry";
    case SLING_ERROR_BUFFER_OUT_OF_ARENA: return "a layer buffer lies outside the arena";
    case SLING_ERROR_BAD_SCRATCH: return "the kernel scratch region is misplaced or smaller than a layer needs";
    case SLING_ERROR_BAD_WEIGHT_FORMAT: return "a layer's weight format is unknown to this runtime";
    case SLING_ERROR_BAD_UNPACK_BUFFER:
      return "a packed layer's unpack buffer is outside the arena, misaligned or on the layer's buffers";
  }
  return "unknown status";
}
