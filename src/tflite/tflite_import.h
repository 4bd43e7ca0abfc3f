// The TFLite importer: a .tflite flatbuffer to our QuantizedModel, so models trained and
// converted elsewhere run on every engine. Full-int8 files become quantized models whose
// integer engines reproduce TFLite Micro's reference kernels; float32 files (also with
// dynamic-range int8 weights, which are dequantized) become float-only models.
//
// The mapping (docs in DESIGN.md, "TFLite import"):
//   CONV_2D, DEPTHWISE_CONV_2D (depth multiplier 1), FULLY_CONNECTED   weighted layers;
//       per-channel or per-tensor weight scales (per-tensor is repeated per channel, which
//       gives TFLite's multipliers exactly); fused NONE/RELU/RELU6 become relu/relu6 nodes
//       the integer engines fuse back into the producer's clamp, as TFLite does
//   ADD (same shapes), AVERAGE_POOL_2D, MAX_POOL_2D, RELU, RELU6
//   RESHAPE                      only flattening to [1, N] (a flatten node, or nothing)
//   MEAN                         only over axes [1, 2] of [1, H, W, C] with keep_dims: a
//                                global average pool (what the exporter writes)
//   SOFTMAX                      only as the last operator: dropped, our models end at logits
//   QUANTIZE / DEQUANTIZE        only float -> int8 at the input and int8 -> float at the
//                                output: engines quantize and dequantize there themselves
// Anything else fails with "operator K (NAME) is not supported". Only subgraph 0 is read.
//
// The input mapping (docs/tflite.md, "Import"): image models (H x W x 1 or 3, but not the
// 49x10x1 MFCC features) are made to take our pixels in [0, 1] on the 8-bit grid. An
// `affine` node after the input carries pixel x to the file's real value: for int8 files
// pixel k/255 is code k - 128, the code an 8-bit camera pipeline hands the deployed model,
// and the node maps it to that code's real value on the file's grid (0..255 for the MLPerf
// ResNet-8: scale 1, zero point -128), so the integer engines see exactly the file's codes
// and the node costs nothing there. Float files map [0, 1] onto `input_range` (default
// [0, 1], no node). Other inputs (keyword features, the anomaly autoencoder's vectors) keep
// the file's domain.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "quant/quantized_model.h"

namespace slingshot {

struct TfliteImportOptions {
  // Map image inputs onto our [0, 1] pixels (false: keep the file's domain, as tests of
  // the mapping compare).
  bool map_input = true;
  // The file's real input values of pixels 0 and 255: float files use it (default 0, 1);
  // int8 files must agree with their input grid, which fixes it (an error says otherwise).
  bool has_input_range = false;
  float input_lo = 0.0f, input_hi = 1.0f;
};

// Parses "LO:HI" (e.g. "0:255", "-1:1") into options.
Status parse_tflite_input_range(const std::string& text, TfliteImportOptions& options);

struct TfliteImport {
  // int8 files: graph + quantization (the float graph holds the dequantized weights);
  // float files: `nodes` empty, so only the float engine runs it.
  QuantizedModel model;
  // What the model card ("extra") of the saved file records: the source format, the
  // file's description, each node's TFLite operator and tensor, dropped operators.
  nlohmann::json card;
};

// Whether bytes are a TFLite flatbuffer (identifier "TFL3" at offset 4).
bool is_tflite_model(std::string_view bytes);

// Imports a TFLite model held in memory. The bytes are treated as hostile: malformed
// files, unsupported operators and layouts get an error naming the problem.
Result<TfliteImport> import_tflite(std::string_view bytes, const TfliteImportOptions& options = {});
// Reads and imports a .tflite file. Errors do not repeat the path.
Result<TfliteImport> load_tflite(const std::string& path, const TfliteImportOptions& options = {});

// Writes an imported model as a Slingshot model file (atomically), with its card.
Status save_tflite_import(const TfliteImport& imported, const std::string& path);

}  // namespace slingshot
