/* The device runtime: runs a model exported by `slingshot export-c` (model_format.h) on
 * an arena the caller provides. Freestanding: no heap, no exceptions, no RTTI; the same
 * source runs on Cortex-M and, for tests, natively. Callable from C and C++. */
#ifndef SLINGSHOT_CORTEXM_RUNTIME_MODEL_RUNTIME_H_
#define SLINGSHOT_CORTEXM_RUNTIME_MODEL_RUNTIME_H_

#include <stdint.h>

#include "cortexm/runtime/model_format.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sling_status {
  SLING_OK = 0,
  SLING_ERROR_NULL_ARGUMENT = 1,       /* model, arena or a layer's weight or threshold table is null */
  SLING_ERROR_FORMAT_VERSION = 2,      /* model_data.c was written for another runtime version */
  SLING_ERROR_ARENA_TOO_SMALL = 3,     /* arena_bytes < model->arena_bytes */
  SLING_ERROR_BAD_LAYER_KIND = 4,      /* a layer kind this runtime does not know */
  SLING_ERROR_BAD_GEOMETRY = 5,        /* a non-positive or inconsistent dimension */
  SLING_ERROR_BUFFER_OUT_OF_ARENA = 6, /* a layer's buffer does not lie inside the arena */
  SLING_ERROR_BAD_SCRATCH = 7,         /* the scratch region is outside the arena, misaligned,
                                          smaller than a layer needs or overlaps its buffers */
  SLING_ERROR_BAD_WEIGHT_FORMAT = 8,   /* a layer's weight_format is none of SLING_WEIGHTS_* */
  SLING_ERROR_BAD_UNPACK_BUFFER = 9,   /* a packed layer's unpack buffer is outside the arena,
                                          misaligned or overlaps its buffers or the scratch */
} sling_status;

/* Called before (after == 0) and after (after == 1) each layer, e.g. to read a cycle or
 * instruction counter per layer. */
typedef void (*sling_layer_hook)(void* user, uint32_t layer_index, int after);

/* Checks the model's table against the runtime and an arena of `arena_bytes`. */
sling_status sling_model_check(const sling_model* model, uint32_t arena_bytes);

/* Runs every layer once. The caller writes model->input_bytes input codes at
 * arena + model->input_offset before, and reads model->output_bytes output codes at
 * arena + model->output_offset after. `hook` may be null. Checks the model first. */
sling_status sling_model_run(const sling_model* model, int8_t* arena, uint32_t arena_bytes, sling_layer_hook hook,
                             void* user);

/* A short English description of a status ("arena too small", ...). */
const char* sling_status_message(sling_status status);

#ifdef __cplusplus
}
#endif

#endif /* SLINGSHOT_CORTEXM_RUNTIME_MODEL_RUNTIME_H_ */
