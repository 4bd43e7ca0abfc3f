// Sizes and unpacking of packed low-bit weights (weight_packing.h); the layout is
// model_format.h's SLING_WEIGHTS_*. Whole bytes are expanded in a straight loop, the
// partly used last byte value by value.
#include "cortexm/runtime/weight_packing.h"

extern "C" uint32_t sling_weight_bits(uint32_t format) {
  switch (format) {
    case SLING_WEIGHTS_INT8: return 8;
    case SLING_WEIGHTS_INT4: return 4;
    case SLING_WEIGHTS_TERNARY: return 2;
    case SLING_WEIGHTS_BINARY: return 1;
  }
  return 0;
}

extern "C" uint64_t sling_packed_weight_bytes(uint32_t format, uint64_t count) {
  return (count * sling_weight_bits(format) + 7) / 8;
}

extern "C" uint64_t sling_layer_weight_count(const sling_layer* l) {
  if (l->in_c <= 0 || l->out_c <= 0) return 0;
  const uint64_t in_c = static_cast<uint64_t>(l->in_c), out_c = static_cast<uint64_t>(l->out_c);
  const uint64_t taps = l->kernel_h > 0 && l->kernel_w > 0
                            ? static_cast<uint64_t>(l->kernel_h) * static_cast<uint64_t>(l->kernel_w)
                            : 0;
  switch (l->kind) {
    case SLING_LAYER_CONV2D: return out_c * taps * in_c;
    case SLING_LAYER_DEPTHWISE_CONV2D: return taps * out_c;
    case SLING_LAYER_DENSE: return out_c * in_c;
  }
  return 0;
}

extern "C" uint64_t sling_unpack_buffer_bytes(uint32_t format, uint64_t count) {
  return format == SLING_WEIGHTS_INT8 ? 0 : count;
}

namespace {

// The low `bits` bits of `field` as a two's complement number.
inline int8_t sign_extend(uint32_t field, uint32_t bits) {
  const int32_t sign = 1 << (bits - 1);
  return static_cast<int8_t>(static_cast<int32_t>(field ^ static_cast<uint32_t>(sign)) - sign);
}

// The code at bit position `shift` of `byte` in `format`.
inline int8_t code_at(uint32_t format, uint32_t byte, uint32_t shift) {
  if (format == SLING_WEIGHTS_BINARY) return ((byte >> shift) & 1u) ? 1 : -1;
  const uint32_t bits = format == SLING_WEIGHTS_INT4 ? 4 : 2;
  return sign_extend((byte >> shift) & ((1u << bits) - 1), bits);
}

template <uint32_t kFormat>
void unpack(const uint8_t* packed, uint32_t count, int8_t* codes) {
  constexpr uint32_t kBits = kFormat == SLING_WEIGHTS_INT4 ? 4 : kFormat == SLING_WEIGHTS_TERNARY ? 2 : 1;
  constexpr uint32_t kPerByte = 8 / kBits;
  const uint32_t whole = count / kPerByte;
  for (uint32_t b = 0; b < whole; ++b) {
    const uint32_t byte = packed[b];
    for (uint32_t k = 0; k < kPerByte; ++k) codes[k] = code_at(kFormat, byte, k * kBits);
    codes += kPerByte;
  }
  for (uint32_t k = 0; k < count % kPerByte; ++k) codes[k] = code_at(kFormat, packed[whole], k * kBits);
}

}  // namespace

extern "C" void sling_unpack_weights(uint32_t format, const uint8_t* packed, uint32_t count, int8_t* codes) {
  switch (format) {
    case SLING_WEIGHTS_INT4: unpack<SLING_WEIGHTS_INT4>(packed, count, codes); break;
    case SLING_WEIGHTS_TERNARY: unpack<SLING_WEIGHTS_TERNARY>(packed, count, codes); break;
    case SLING_WEIGHTS_BINARY: unpack<SLING_WEIGHTS_BINARY>(packed, count, codes); break;
    default: break;  // int8 and unknown formats: the runtime never asks
  }
}
