/* The layer table of a model exported to C (`slingshot export-c`): what the generated
 * model_data.c fills in and the device runtime (model_runtime.h) executes. C-compatible
 * plain data: weights, biases and requantization tables are pointers to const arrays
 * (flash); activations are byte offsets into one arena the caller provides, planned by
 * the exporter so that buffers whose lifetimes overlap never share bytes. The arena also
 * holds the scratch region the Cortex-M DSP kernels need (kernel_dispatch.h), planned
 * like a buffer alive from the first to the last conv/dense layer, and, for a layer with
 * packed low-bit weights, the buffer its filter is expanded into while it runs. */
#ifndef SLINGSHOT_CORTEXM_RUNTIME_MODEL_FORMAT_H_
#define SLINGSHOT_CORTEXM_RUNTIME_MODEL_FORMAT_H_

#include <stdint.h>

/* Bumped whenever a struct below changes; the runtime refuses other versions.
 * 3: per-layer weight_format (packed low-bit weights) and unpack buffer offset.
 * (SLING_LAYER_THERMOMETER came later without a layout change: it fills existing fields,
 * and a runtime without it refuses the kind, SLING_ERROR_BAD_LAYER_KIND.) */
#define SLING_MODEL_FORMAT_VERSION 3u

/* Layer kinds (sling_layer.kind). The arithmetic of each is the int8 reference kernel's. */
#define SLING_LAYER_CONV2D 0u          /* conv2d_s8, OHWI filter */
#define SLING_LAYER_DEPTHWISE_CONV2D 1u /* depthwise_conv2d_s8, [1,kh,kw,C_out] filter */
#define SLING_LAYER_DENSE 2u           /* dense_s8, [out,in] weights */
#define SLING_LAYER_MAX_POOL 3u        /* max_pool2d_s8 */
#define SLING_LAYER_AVG_POOL 4u        /* avg_pool2d_s8 */
#define SLING_LAYER_GLOBAL_AVG_POOL 5u /* global_avg_pool_s8 (TFLite MEAN over H, W) */
#define SLING_LAYER_ADD 6u             /* add_s8, two inputs of `elements` codes */
#define SLING_LAYER_CLAMP 7u           /* an unfused ReLU/ReLU6: clamp to [act_min, act_max] */
#define SLING_LAYER_THERMOMETER 8u     /* thermometer_s8: `elements` codes to `elements` * out_c */
#define SLING_LAYER_KIND_COUNT 9u

/* Weight formats (sling_layer.weight_format): how a weighted layer's codes lie in flash.
 * Value i of the layer's code sequence (OHWI, [1,kh,kw,C] or [out,in], as for int8) sits
 * in byte i / (8 / bits) at bit (i % (8 / bits)) * bits, least significant bits first;
 * the bits after the last value are 0, and the exporter pads the array with 0 bytes to a
 * multiple of 4. The packed formats hold what the quantized model records as its weight
 * scheme (quant/quantized_model.h: int4, ternary, binary); the exporter refuses a code
 * outside the scheme. The runtime expands them to int8 in the unpack buffer, so every
 * kernel sees the same int8 codes as for an int8 layer. */
#define SLING_WEIGHTS_INT8 0u    /* one int8 per code: the array is the codes themselves */
#define SLING_WEIGHTS_INT4 1u    /* 4 bits, two's complement: codes -7..7 (the bits 1000 are never written) */
#define SLING_WEIGHTS_TERNARY 2u /* 2 bits, two's complement: 00 = 0, 01 = +1, 11 = -1 (10 never written) */
#define SLING_WEIGHTS_BINARY 3u  /* 1 bit: 1 = +1, 0 = -1 */
#define SLING_WEIGHTS_FORMAT_COUNT 4u

/* Requantization rounding (sling_model.rounding), as quant/fixed_point.h's RoundingMode. */
#define SLING_ROUNDING_DOUBLE 0u /* TFLite's default */
#define SLING_ROUNDING_SINGLE 1u

typedef struct sling_layer {
  uint32_t kind; /* SLING_LAYER_* */
  /* Window geometry (conv, depthwise, pools: NHWC, batch 1, padding resolved). For dense
   * in_c/out_c are the input/output features; for global average pooling in_h/in_w/in_c
   * is the input and out_c == in_c; for add and clamp `elements` is the length. */
  int32_t in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left;
  int32_t elements;
  /* Quantization (TFLite conventions: input_offset = -input zero point,
   * output_offset = output zero point; every kind clamps to [act_min, act_max]; the
   * thermometer writes act_min for a clear level and act_max for a set one). */
  int32_t input_offset, output_offset;
  int32_t act_min, act_max;
  int32_t multiplier, shift; /* global average pooling; add: the output step */
  /* Add: the two input rescale steps and the headroom shift. */
  int32_t add_left_shift;
  int32_t input2_offset;
  int32_t input1_multiplier, input1_shift, input2_multiplier, input2_shift;
  /* Weighted kinds (conv, depthwise, dense): flash arrays, per output channel tables.
   * `weights` holds int8 codes (SLING_WEIGHTS_INT8: 0, what a zero-initialized field
   * means) or packed bytes, as weight_format says. The thermometer encoding's one table,
   * per output level, is `multipliers`: level k is set for input codes >= multipliers[k]
   * (its threshold code; 128 for a level no code reaches). */
  uint32_t weight_format; /* SLING_WEIGHTS_* */
  const void* weights;
  const int32_t* bias; /* may be null */
  const int32_t* multipliers;
  const int32_t* shifts;
  /* Arena byte offsets of the buffers this layer reads and writes (input2: add only), and
   * of the buffer a packed layer's filter is expanded into (16-byte aligned,
   * sling_unpack_buffer_bytes() long (weight_packing.h), alive only while the layer runs,
   * so the exporter places it in room no live buffer uses then; unused for int8 weights). */
  uint32_t input, input2, output, unpack;
} sling_layer;

typedef struct sling_model {
  uint32_t format_version;  /* SLING_MODEL_FORMAT_VERSION */
  uint32_t rounding;        /* SLING_ROUNDING_* */
  const sling_layer* layers;
  uint32_t layer_count;
  uint32_t arena_bytes;     /* the arena run() needs: the planned peak */
  /* Kernel scratch inside the arena (16-byte aligned offset): the largest
   * conv2d_s8__dsp_scratch_size / dense_s8__dsp_scratch_size of any layer
   * (kernels/cortexm/dsp_scratch.h), clear of every buffer alive while such a layer runs.
   * 0 bytes when the model has no conv or dense layer. The reference kernels ignore it. */
  uint32_t scratch_offset;
  uint32_t scratch_bytes;
  uint32_t input_offset;    /* arena offset of the int8 input tensor (NHWC) */
  uint32_t input_bytes;
  uint32_t output_offset;   /* arena offset of the int8 output codes */
  uint32_t output_bytes;
  /* Input and output grids: real = scale * (code - zero_point). */
  float input_scale;
  int32_t input_zero_point;
  float output_scale;
  int32_t output_zero_point;
} sling_model;

#endif /* SLINGSHOT_CORTEXM_RUNTIME_MODEL_FORMAT_H_ */
