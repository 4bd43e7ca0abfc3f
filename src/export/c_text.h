// Pieces of generated C source shared by the C exporters (c_header, c_model): array
// initializer bodies and float literals that read back to the same float.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace slingshot {

// `count` values as the body of a C array initializer, 16 per line.
std::string c_array_body(const int8_t* values, size_t count);
std::string c_array_body(const int32_t* values, size_t count);
// Bytes as two-digit hex literals ("0x5a"), 16 per line: packed bit fields read better so.
std::string c_array_body(const uint8_t* values, size_t count);
inline std::string c_array_body(const std::vector<int8_t>& values) { return c_array_body(values.data(), values.size()); }

// A C float literal ("0.00392156886f", "1.f") that parses back to exactly `v`.
std::string float_literal(float v);

}  // namespace slingshot
