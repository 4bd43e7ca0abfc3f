// The TFLite exporter: a validated int8 QuantizedModel to a full-int8 TFLite flatbuffer
// (schema version 3, identifier "TFL3") that TFLite and TFLite Micro run with the same
// integer arithmetic as our int8 engines. Written with the flatbuffers builder through
// the reader generated from our schema subset (tflite_schema.fbs).
//
// The mapping (docs/tflite.md, "Export"):
//   conv2d                 CONV_2D, weights OHWI with per-channel scales (dimension 0)
//   depthwise_conv2d       DEPTHWISE_CONV_2D (depth multiplier 1), weights [1, kh, kw, C]
//                          with per-channel scales (dimension 3)
//   dense                  FULLY_CONNECTED, [units, inputs]; per-channel scales
//                          (dimension 0), or one per-tensor scale when all channels share it
//   every weighted layer   int32 bias with scales s_in x s_w[c], zero points 0
//   relu / relu6 fused     the fused_activation_function of the conv, depthwise conv,
//                          dense or add they follow (the fusion our int8 program makes)
//   relu / relu6 alone     RELU / RELU6 on the input's grid
//   add                    ADD;   max_pool2d / avg_pool2d   MAX_POOL_2D / AVERAGE_POOL_2D
//   global_avg_pool        MEAN over axes [1, 2] with keep_dims, then RESHAPE to [1, C]:
//                          TFLite's integer mean (rescale by s_in/s_out, divide by H x W,
//                          round half away from zero), which our engines run; an
//                          AVERAGE_POOL_2D over the map rounds the sum with the zero point
//                          in it and differs on ties whenever the grids differ
//   flatten                RESHAPE to [1, N]
// Input and output tensors are int8 on the model's own grids, so no QUANTIZE/DEQUANTIZE
// operator is written (the caller quantizes, as our engines do), and the graph ends at
// the logits: no SOFTMAX (top-1 is unchanged). Models that TFLite's int8 kernels cannot
// run as our engines do are refused with an error naming the reason: float-only models,
// hidden activations below 8 bits (TFLite clamps codes only to [-128, 127]), single
// rounding (TFLite's reference kernels round twice), and any node without a TFLite
// operator ("node 'x' (softmax) ...").
#pragma once

#include <map>
#include <string>

#include "core/status.h"
#include "quant/quantized_model.h"

namespace slingshot {

struct TfliteExport {
  std::string bytes;                        // the .tflite flatbuffer
  std::map<std::string, int> operators;     // operator name -> how many were written
  int tensors = 0;                          // tensors in the subgraph
};

// Writes `model` as a full-int8 TFLite flatbuffer. `description` names the producer in
// Model.description (empty: "Slingshot <version>").
Result<TfliteExport> export_tflite(const QuantizedModel& model, const std::string& description = "");

// Exports `model` and writes the file atomically (temp file + rename).
Result<TfliteExport> save_tflite(const QuantizedModel& model, const std::string& path,
                                 const std::string& description = "");

}  // namespace slingshot
