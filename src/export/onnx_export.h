// ONNX export of a (quantized) model, native only (Debian's libonnx-dev + protobuf).
// The exported model takes the same NHWC float input [N, H, W, C] (images in [0, 1])
// as our engines and returns the same logits; inside, a Transpose moves to ONNX's NCHW.
//   float  the model's float graph: the BN-folded graph of a quantized model, or a float
//          file's graph as it is (batch norm as BatchNormalization).
//   int8   a QDQ model (opset 13): QuantizeLinear/DequantizeLinear pairs on the input and
//          on every activation with its own grid, ReLU/ReLU6 as int8 clamps of the codes
//          (on the producer's pair when the integer engines fuse them), int8 weights with
//          per-channel scales, int32 biases with scale s_in x s_w. onnxruntime fuses it
//          into its int8 kernels.
// docs/onnx-export.md describes the conventions and limits. This header includes no ONNX
// or protobuf header, so its users need neither.
#pragma once

#include <string>

#include "core/status.h"
#include "quant/quantized_model.h"

namespace slingshot {

// The opset the exporter targets (per-channel DequantizeLinear needs 13).
inline constexpr int kOnnxOpset = 13;

// Serialized ModelProto bytes. `int8` needs a quantized model (model.nodes non-empty).
// Layer types or shapes the exporter cannot map are an error naming the node.
Result<std::string> export_onnx(const QuantizedModel& model, bool int8);
// export_onnx() written atomically to `path`.
Status save_onnx(const QuantizedModel& model, bool int8, const std::string& path);

}  // namespace slingshot
