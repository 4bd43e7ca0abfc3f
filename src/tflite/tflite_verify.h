// First stage of the TFLite importer: decides whether bytes are a TFLite model this build
// can trust to read, before anything interprets them. The flatbuffers Verifier checks
// every offset and length (truncated or corrupt files); then the checks here cover what
// the verifier cannot know: the schema version, buffer sizes against tensor shapes and
// types, index ranges of operator codes, tensors and buffers, and that the first
// subgraph's operators form a DAG listed in execution order. Every failure is a Status
// that names the problem; nothing here can crash on hostile bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace tflite {
struct Model;
struct Tensor;
}  // namespace tflite

namespace slingshot {

// The schema version every TFLite file since 2018 carries (Model.version).
inline constexpr uint32_t kTfliteSchemaVersion = 3;

// Whether bytes look like a TFLite flatbuffer: the identifier "TFL3" at offset 4.
bool has_tflite_identifier(std::string_view bytes);

// Verifies `bytes` (which must stay alive and be at least 8-byte aligned: flatbuffers
// reads scalars in place) and returns the root. Only subgraph 0 is checked in depth,
// since it is the only one the importer reads.
Result<const tflite::Model*> verify_tflite(std::string_view bytes);

// "operator 7 (SQUARED_DIFFERENCE)" style names used by every importer message.
std::string tflite_operator_name(int32_t builtin_code);
// The effective builtin code of an operator code: max(deprecated_builtin_code, builtin_code),
// the rule TFLite applies since codes outgrew a byte.
int32_t tflite_builtin_code(const tflite::Model& model, uint32_t opcode_index);
// "tensor 12 ('conv2d/Relu')".
std::string tflite_tensor_name(const tflite::Tensor& tensor, int index);

}  // namespace slingshot
