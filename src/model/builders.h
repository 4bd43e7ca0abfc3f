// Reference architectures: the MLPerf Tiny ResNet-8, DS-CNN and MobileNetV1, plus a
// tiny CNN for quick demos. Builders return untrained graphs; init_params() seeds them.
#pragma once

#include <cstdint>

#include "model/graph.h"

namespace slingshot {

// MLPerf Tiny image classification ResNet-8: 32x32x3, stacks of 16/32/64 channels,
// 1x1 stride-2 shortcuts, global average pool, dense logits.
Result<Graph> build_resnet8(int num_classes = 10, Shape input = {32, 32, 3});
// MLPerf Tiny keyword spotting DS-CNN on 49x10 MFCC: a 10x4 stride-2 conv and four
// depthwise-separable blocks of 64 channels.
Result<Graph> build_dscnn(int num_classes = 12, Shape input = {49, 10, 1});
// MobileNetV1 with width multiplier `alpha` (MLPerf Tiny visual wake words: 0.25, 96x96x3, 2 classes).
Result<Graph> build_mobilenet_v1(float alpha = 0.25f, int num_classes = 2, Shape input = {96, 96, 3});
// Two conv blocks and a dense head; trains in seconds, for demos and tests.
Result<Graph> build_tiny_cnn(int num_classes, Shape input);

// The same network behind a thermometer input-encoding head (model/layers/thermometer.h):
// `base` was built for inputs of C * levels channels; the result reads C channels in
// [lo, hi], encodes them, and feeds the encoding to `base`'s first layers.
Result<Graph> with_thermometer_head(Graph base, int levels, float lo, float hi);

// Builds one of the above by name: "resnet8", "dscnn", "mobilenet_v1", "tiny_cnn";
// "thermometerL_NAME" (e.g. "thermometer16_resnet8") puts a thermometer head of L levels
// over the image range [0, 1] in front of NAME.
Result<Graph> build_architecture(const std::string& name, int num_classes, const Shape& input);

// He-normal weights (std sqrt(2 / fan_in)), zero biases, unit batch-norm scale.
void init_params(Graph& graph, uint64_t seed);

}  // namespace slingshot
