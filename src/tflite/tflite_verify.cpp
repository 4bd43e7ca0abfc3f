// Verification of TFLite bytes (see tflite_verify.h).
#include "tflite/tflite_verify.h"

#include <algorithm>
#include <vector>

#include "tflite/tflite_schema_generated.h"

namespace slingshot {
namespace {

// Bounds on what a file may make the importer allocate; the MLPerf Tiny models are far
// below them. They keep shape arithmetic free of int64 overflow.
constexpr int64_t kMaxTensorElements = int64_t{1} << 28;
constexpr int kMaxRank = 6;
constexpr uint32_t kMaxOperators = 4096;

// Bytes per element of the fixed-size types; 0 for variable-size ones (string, resource,
// variant) and INT4, which packs two values per byte and is handled by the caller.
int64_t element_bytes(tflite::TensorType t) {
  switch (t) {
    case tflite::TensorType_BOOL:
    case tflite::TensorType_INT8:
    case tflite::TensorType_UINT8: return 1;
    case tflite::TensorType_FLOAT16:
    case tflite::TensorType_INT16:
    case tflite::TensorType_UINT16: return 2;
    case tflite::TensorType_FLOAT32:
    case tflite::TensorType_INT32:
    case tflite::TensorType_UINT32: return 4;
    case tflite::TensorType_INT64:
    case tflite::TensorType_UINT64:
    case tflite::TensorType_FLOAT64:
    case tflite::TensorType_COMPLEX64: return 8;
    case tflite::TensorType_COMPLEX128: return 16;
    default: return 0;
  }
}

std::string type_name(tflite::TensorType t) {
  const char* n = tflite::EnumNameTensorType(t);
  return *n ? n : "type " + std::to_string(static_cast<int>(t));
}

std::string shape_text(const tflite::Tensor& t) {
  std::string s = "[";
  if (t.shape())
    for (uint32_t i = 0; i < t.shape()->size(); ++i) s += (i ? ", " : "") + std::to_string(t.shape()->Get(i));
  return s + "]";
}

Status check_tensor(const tflite::Model& model, const tflite::Tensor& t, int index) {
  const std::string what = tflite_tensor_name(t, index);
  int64_t elements = 1;
  if (t.shape()) {
    if (t.shape()->size() > kMaxRank)
      return data_loss(what + " has rank " + std::to_string(t.shape()->size()) + ", above " +
                       std::to_string(kMaxRank));
    for (int32_t d : *t.shape()) {
      if (d < 1) return data_loss(what + " has dimension " + std::to_string(d) + "; dimensions must be positive");
      elements *= d;
      if (elements > kMaxTensorElements)
        return data_loss(what + " has more than " + std::to_string(kMaxTensorElements) + " elements");
    }
  }
  const uint32_t buffers = model.buffers()->size();
  if (t.buffer() >= buffers)
    return data_loss(what + " refers to buffer " + std::to_string(t.buffer()) + ", but the file has " +
                     std::to_string(buffers) + " buffers");
  const tflite::Buffer* b = model.buffers()->Get(t.buffer());
  if (b->data() && b->data()->size() > 0) {
    const int64_t per = element_bytes(t.type());
    const int64_t expected = t.type() == tflite::TensorType_INT4 ? (elements + 1) / 2 : elements * per;
    if ((per > 0 || t.type() == tflite::TensorType_INT4) && static_cast<int64_t>(b->data()->size()) != expected)
      return data_loss(what + " has shape " + shape_text(t) + " of " + type_name(t.type()) + " (" +
                       std::to_string(expected) + " bytes), but its buffer " + std::to_string(t.buffer()) + " holds " +
                       std::to_string(b->data()->size()) + " bytes");
  }
  if (const tflite::QuantizationParameters* q = t.quantization()) {
    const uint32_t scales = q->scale() ? q->scale()->size() : 0;
    const uint32_t zero_points = q->zero_point() ? q->zero_point()->size() : 0;
    if (scales != zero_points && zero_points != 0)
      return data_loss(what + " has " + std::to_string(scales) + " quantization scales but " +
                       std::to_string(zero_points) + " zero points");
    if (scales > 1) {
      const int rank = t.shape() ? static_cast<int>(t.shape()->size()) : 0;
      const int32_t axis = q->quantized_dimension();
      if (axis < 0 || axis >= rank)
        return data_loss(what + " is quantized along dimension " + std::to_string(axis) + " of a rank-" +
                         std::to_string(rank) + " tensor");
      if (static_cast<int64_t>(scales) != t.shape()->Get(axis))
        return data_loss(what + " has " + std::to_string(scales) + " quantization scales for " +
                         std::to_string(t.shape()->Get(axis)) + " channels along dimension " + std::to_string(axis));
    }
  }
  return Status::Ok();
}

}  // namespace

bool has_tflite_identifier(std::string_view bytes) {
  return bytes.size() >= 8 && flatbuffers::BufferHasIdentifier(bytes.data(), tflite::ModelIdentifier());
}

std::string tflite_operator_name(int32_t code) {
  const char* n = code >= tflite::BuiltinOperator_MIN && code <= tflite::BuiltinOperator_MAX
                      ? tflite::EnumNameBuiltinOperator(static_cast<tflite::BuiltinOperator>(code))
                      : "";
  return *n ? n : "builtin code " + std::to_string(code);
}

int32_t tflite_builtin_code(const tflite::Model& model, uint32_t opcode_index) {
  const tflite::OperatorCode* c = model.operator_codes()->Get(opcode_index);
  return std::max<int32_t>(c->deprecated_builtin_code(), c->builtin_code());
}

std::string tflite_tensor_name(const tflite::Tensor& t, int index) {
  return "tensor " + std::to_string(index) + (t.name() ? " ('" + t.name()->str() + "')" : "");
}

Result<const tflite::Model*> verify_tflite(std::string_view bytes) {
  if (bytes.size() < 8)
    return data_loss("the file is " + std::to_string(bytes.size()) + " bytes long, too short for a TFLite model");
  if (!has_tflite_identifier(bytes))
    return data_loss("not a TFLite model: the flatbuffer identifier 'TFL3' is missing at offset 4");
  if (bytes.size() >= FLATBUFFERS_MAX_BUFFER_SIZE) return data_loss("the file is larger than a flatbuffer can be");
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  flatbuffers::Verifier verifier(data, bytes.size(), /*max_depth=*/64, /*max_tables=*/1'000'000);
  if (!tflite::VerifyModelBuffer(verifier))
    return data_loss("malformed TFLite flatbuffer: an offset or length points outside the file or a table is "
                     "corrupt (a truncated or damaged file)");
  const tflite::Model* model = tflite::GetModel(data);

  if (model->version() != kTfliteSchemaVersion)
    return data_loss("unsupported TFLite schema version " + std::to_string(model->version()) +
                     " (this importer reads version " + std::to_string(kTfliteSchemaVersion) + ")");
  if (!model->subgraphs() || model->subgraphs()->size() == 0) return data_loss("the model has no subgraph");
  if (!model->buffers() || model->buffers()->size() == 0)
    return data_loss("the model has no buffer table (buffer 0, the empty sentinel, is required)");
  if (!model->operator_codes()) return data_loss("the model has no operator codes");
  for (uint32_t i = 0; i < model->buffers()->size(); ++i) {
    const tflite::Buffer* b = model->buffers()->Get(i);
    if (b->offset() > 1 || b->size() > 0)
      return unimplemented("buffer " + std::to_string(i) +
                           " keeps its data outside the flatbuffer (a model over 2 GB), which is not supported");
  }
  for (uint32_t i = 0; i < model->operator_codes()->size(); ++i) {
    const tflite::OperatorCode* c = model->operator_codes()->Get(i);
    if (c->version() < 1)
      return data_loss("operator code " + std::to_string(i) + " (" + tflite_operator_name(tflite_builtin_code(*model, i)) +
                       ") has version " + std::to_string(c->version()) + "; versions start at 1");
  }

  const tflite::SubGraph* sg = model->subgraphs()->Get(0);
  if (!sg->tensors() || !sg->operators() || !sg->inputs() || !sg->outputs())
    return data_loss("subgraph 0 lacks its tensors, operators, inputs or outputs");
  const int tensors = static_cast<int>(sg->tensors()->size());
  for (int t = 0; t < tensors; ++t) SLING_RETURN_IF_ERROR(check_tensor(*model, *sg->tensors()->Get(t), t));
  if (sg->operators()->size() > kMaxOperators)
    return data_loss("subgraph 0 has " + std::to_string(sg->operators()->size()) + " operators, above " +
                     std::to_string(kMaxOperators));

  // Values exist once a graph input, a constant or an earlier operator provides them. An
  // operator reading a value no earlier operator wrote is a cycle or an out-of-order list.
  std::vector<char> available(tensors, 0);
  auto check_index = [&](int32_t t, const std::string& what) -> Status {
    if (t < 0 || t >= tensors)
      return data_loss(what + " refers to tensor " + std::to_string(t) + ", but subgraph 0 has " +
                       std::to_string(tensors) + " tensors");
    return Status::Ok();
  };
  for (int32_t t : *sg->inputs()) {
    SLING_RETURN_IF_ERROR(check_index(t, "a subgraph input"));
    available[t] = 1;
  }
  for (int t = 0; t < tensors; ++t) {
    const tflite::Buffer* b = model->buffers()->Get(sg->tensors()->Get(t)->buffer());
    if ((b->data() && b->data()->size() > 0) || sg->tensors()->Get(t)->is_variable()) available[t] = 1;
  }
  for (uint32_t k = 0; k < sg->operators()->size(); ++k) {
    const tflite::Operator* op = sg->operators()->Get(k);
    std::string what = "operator " + std::to_string(k);
    if (op->opcode_index() >= model->operator_codes()->size())
      return data_loss(what + " uses operator code " + std::to_string(op->opcode_index()) + ", but the file has " +
                       std::to_string(model->operator_codes()->size()));
    what += " (" + tflite_operator_name(tflite_builtin_code(*model, op->opcode_index())) + ")";
    if (!op->inputs() || !op->outputs() || op->outputs()->size() == 0)
      return data_loss(what + " lacks its input or output list");
    for (int32_t t : *op->inputs()) {
      if (t == -1) continue;  // an omitted optional input
      SLING_RETURN_IF_ERROR(check_index(t, what));
      if (!available[t])
        return data_loss(what + " reads " + tflite_tensor_name(*sg->tensors()->Get(t), t) +
                         " before any operator writes it: the graph has a cycle or is not in execution order");
    }
    for (int32_t t : *op->outputs()) {
      SLING_RETURN_IF_ERROR(check_index(t, what));
      if (available[t])
        return data_loss(what + " writes " + tflite_tensor_name(*sg->tensors()->Get(t), t) +
                         ", which a graph input, a constant or an earlier operator already provides");
      available[t] = 1;
    }
  }
  for (int32_t t : *sg->outputs()) {
    SLING_RETURN_IF_ERROR(check_index(t, "a subgraph output"));
    if (!available[t])
      return data_loss("subgraph output " + tflite_tensor_name(*sg->tensors()->Get(t), t) + " is never written");
  }
  return model;
}

}  // namespace slingshot
