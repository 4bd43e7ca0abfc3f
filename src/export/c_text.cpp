// Generated C text shared by the C exporters (see c_text.h).
#include "export/c_text.h"

#include <cstdio>

namespace slingshot {
namespace {

template <class T>
std::string array_body(const T* values, size_t count, bool hex = false) {
  std::string out;
  out.reserve(count * 5 + 8);
  char cell[16];
  for (size_t i = 0; i < count; ++i) {
    if (hex)
      std::snprintf(cell, sizeof cell, "0x%02lx", static_cast<unsigned long>(values[i]));
    else
      std::snprintf(cell, sizeof cell, "%ld", static_cast<long>(values[i]));
    out += i % 16 == 0 ? "\n  " : " ";
    out += cell;
    if (i + 1 < count) out += ',';
  }
  return out + "\n";
}

}  // namespace

std::string c_array_body(const int8_t* values, size_t count) { return array_body(values, count); }
std::string c_array_body(const int32_t* values, size_t count) { return array_body(values, count); }
std::string c_array_body(const uint8_t* values, size_t count) { return array_body(values, count, true); }

std::string float_literal(float v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.9gf", static_cast<double>(v));
  std::string s(buf);
  // "1f" is not a C literal; "1.f" is.
  if (s.find_first_of(".eE") == std::string::npos) s.insert(s.size() - 1, ".");
  return s;
}

}  // namespace slingshot
