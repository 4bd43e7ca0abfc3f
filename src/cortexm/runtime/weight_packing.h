/* Packed low-bit weights (model_format.h, SLING_WEIGHTS_*): their size in flash, the size
 * of the arena buffer they are unpacked into, and the unpacking itself. The one place both
 * the exporter (export/c_model.cpp, which packs and plans the arena) and the device
 * runtime (which checks and unpacks) take these sizes from. Freestanding, C-callable. */
#ifndef SLINGSHOT_CORTEXM_RUNTIME_WEIGHT_PACKING_H_
#define SLINGSHOT_CORTEXM_RUNTIME_WEIGHT_PACKING_H_

#include <stdint.h>

#include "cortexm/runtime/model_format.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bits one code takes in `format` (8, 4, 2 or 1); 0 for an unknown format. */
uint32_t sling_weight_bits(uint32_t format);

/* Bytes that hold `count` codes in `format`: ceil(count x bits / 8), before the exporter's
 * padding to a multiple of 4; 0 for an unknown format. */
uint64_t sling_packed_weight_bytes(uint32_t format, uint64_t count);

/* Codes of a weighted layer from its geometry: out_c x kernel_h x kernel_w x in_c (conv),
 * kernel_h x kernel_w x out_c (depthwise), out_c x in_c (dense); 0 for other kinds or a
 * non-positive dimension. */
uint64_t sling_layer_weight_count(const sling_layer* layer);

/* Bytes of unpack buffer a layer of `count` codes in `format` needs: the whole filter as
 * int8 for a packed format, 0 for int8 (its kernels read flash directly). */
uint64_t sling_unpack_buffer_bytes(uint32_t format, uint64_t count);

/* Expands `count` codes from the start of `packed` to int8 in `codes` (`format` must be a
 * packed one; the runtime checks it first). Bit patterns the exporter never writes
 * (int4 1000, ternary 10) read as their two's complement value (-8, -2). */
void sling_unpack_weights(uint32_t format, const uint8_t* packed, uint32_t count, int8_t* codes);

#ifdef __cplusplus
}
#endif

#endif /* SLINGSHOT_CORTEXM_RUNTIME_WEIGHT_PACKING_H_ */
