// The ELF32 reader (see elf_sections.h). Layout from the System V ABI (ELF header,
// section header, program header, Elf32_Sym); only what footprint needs is decoded.
#include "deploy/elf_sections.h"

#include "core/file_io.h"

namespace slingshot {
namespace {

constexpr int64_t kMaxElfBytes = int64_t{1} << 30;
constexpr uint32_t kShtSymtab = 2;
constexpr uint8_t kSttFile = 4;

// Bounds-checked little-endian reads from the file's bytes.
class Reader {
 public:
  Reader(const std::string& bytes, const std::string& name) : bytes_(bytes), name_(name) {}
  bool has(uint64_t offset, uint64_t size) const { return offset <= bytes_.size() && size <= bytes_.size() - offset; }
  uint32_t u8(uint64_t at) const { return static_cast<unsigned char>(bytes_[at]); }
  uint32_t u16(uint64_t at) const { return u8(at) | u8(at + 1) << 8; }
  uint32_t u32(uint64_t at) const { return u16(at) | u16(at + 2) << 16; }
  Status truncated(const std::string& what) const {
    return data_loss("'" + name_ + "' is a truncated or malformed ELF file: " + what + " lies outside the file (" +
                     std::to_string(bytes_.size()) + " bytes)");
  }
  // A NUL-terminated string at `offset` inside the string table [table, table + size).
  Result<std::string> string_at(uint64_t table, uint64_t size, uint64_t offset) const {
    if (!has(table, size) || offset >= size) return truncated("a name");
    const uint64_t start = table + offset, end = table + size;
    uint64_t p = start;
    while (p < end && bytes_[p] != '\0') ++p;
    if (p == end) return data_loss("'" + name_ + "': a name in the ELF string table is not terminated");
    return bytes_.substr(start, p - start);
  }

 private:
  const std::string& bytes_;
  const std::string& name_;
};

}  // namespace

Result<ElfImage> parse_elf32(const std::string& bytes, const std::string& name) {
  const Reader r(bytes, name);
  if (!r.has(0, 52) || bytes.compare(0, 4, "\x7f" "ELF") != 0)
    return data_loss("'" + name + "' is not an ELF file (no 52-byte header starting with 0x7f 'ELF')");
  if (r.u8(4) != 1) return data_loss("'" + name + "' is not a 32-bit ELF file (the firmware is ELF32)");
  if (r.u8(5) != 1) return data_loss("'" + name + "' is not a little-endian ELF file");
  const uint32_t phoff = r.u32(28), shoff = r.u32(32);
  const uint32_t phentsize = r.u16(42), phnum = r.u16(44), shentsize = r.u16(46), shnum = r.u16(48),
                 shstrndx = r.u16(50);
  if (shnum == 0) return data_loss("'" + name + "' has no section headers");
  if (shentsize < 40) return data_loss("'" + name + "': section header entries of " + std::to_string(shentsize) + " bytes (40 needed)");
  if (!r.has(shoff, uint64_t{shnum} * shentsize)) return r.truncated("the section header table");
  if (phnum > 0 && phentsize < 32) return data_loss("'" + name + "': program header entries of " + std::to_string(phentsize) + " bytes (32 needed)");
  if (!r.has(phoff, uint64_t{phnum} * phentsize)) return r.truncated("the program header table");
  if (shstrndx >= shnum) return data_loss("'" + name + "': the section name table index is out of range");

  ElfImage image;
  struct Raw {
    uint32_t name, type, flags, addr, offset, size, link, entsize;
  };
  std::vector<Raw> raw(shnum);
  for (uint32_t i = 0; i < shnum; ++i) {
    const uint64_t at = shoff + uint64_t{i} * shentsize;
    raw[i] = {r.u32(at), r.u32(at + 4), r.u32(at + 8), r.u32(at + 12), r.u32(at + 16), r.u32(at + 20), r.u32(at + 24),
              r.u32(at + 36)};
    if (raw[i].type != 8 && raw[i].type != 0 && !r.has(raw[i].offset, raw[i].size))
      return r.truncated("section " + std::to_string(i) + "'s contents");
  }
  const Raw& names = raw[shstrndx];
  for (uint32_t i = 0; i < shnum; ++i) {
    ElfSection s;
    if (i > 0) {
      SLING_ASSIGN_OR_RETURN(s.name, r.string_at(names.offset, names.size, raw[i].name));
    }
    s.type = raw[i].type;
    s.flags = raw[i].flags;
    s.addr = raw[i].addr;
    s.size = raw[i].size;
    image.sections.push_back(std::move(s));
  }
  for (uint32_t i = 0; i < phnum; ++i) {
    const uint64_t at = phoff + uint64_t{i} * phentsize;
    image.segments.push_back({r.u32(at), r.u32(at + 8), r.u32(at + 12), r.u32(at + 16), r.u32(at + 20)});
  }
  for (uint32_t i = 0; i < shnum; ++i) {
    if (raw[i].type != kShtSymtab) continue;
    if (raw[i].entsize < 16) return data_loss("'" + name + "': symbol table entries of " + std::to_string(raw[i].entsize) + " bytes (16 needed)");
    if (raw[i].link >= shnum) return data_loss("'" + name + "': the symbol table's string table index is out of range");
    const Raw& strings = raw[raw[i].link];
    std::string file;
    for (uint64_t at = raw[i].offset; at + 16 <= uint64_t{raw[i].offset} + raw[i].size; at += raw[i].entsize) {
      ElfSymbol s;
      SLING_ASSIGN_OR_RETURN(s.name, r.string_at(strings.offset, strings.size, r.u32(at)));
      s.value = r.u32(at + 4);
      s.size = r.u32(at + 8);
      s.type = static_cast<uint8_t>(r.u8(at + 12) & 0xf);
      s.local = (r.u8(at + 12) >> 4) == 0;
      s.section = static_cast<uint16_t>(r.u16(at + 14));
      if (s.type == kSttFile) file = s.name;
      if (s.local) s.file = file;
      image.symbols.push_back(std::move(s));
    }
  }
  return image;
}

Result<ElfImage> read_elf32(const std::string& path) {
  SLING_ASSIGN_OR_RETURN(std::string bytes, read_file(path, kMaxElfBytes));
  return parse_elf32(bytes, path);
}

}  // namespace slingshot
