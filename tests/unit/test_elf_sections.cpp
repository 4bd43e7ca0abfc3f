// The ELF32 reader (deploy/elf_sections.h) and the flash/RAM split by source file
// (deploy/firmware_footprint.h) on a small ELF built here byte by byte: sections, segments,
// symbols with their source files, flash/RAM placement and attribution by mapping symbol;
// and every prefix of it, a wrong magic, class or byte order, and out-of-range offsets are
// refused with an error naming the file. Native only (src/deploy is).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "deploy/elf_sections.h"
#include "deploy/firmware_footprint.h"

namespace slingshot {
namespace {

void put16(std::string& b, size_t at, uint32_t v) {
  b[at] = static_cast<char>(v & 0xff);
  b[at + 1] = static_cast<char>((v >> 8) & 0xff);
}
void put32(std::string& b, size_t at, uint32_t v) {
  put16(b, at, v & 0xffff);
  put16(b, at + 2, v >> 16);
}

// Offsets of the test image's parts (see tiny_firmware()).
constexpr size_t kPhOff = 52, kTextOff = 116, kDataOff = 132, kSymOff = 140, kSymCount = 8;
constexpr size_t kStrOff = kSymOff + 16 * kSymCount;

// A firmware-like ELF: .text (16 B at 0x0: 8 B of code from a.c, then 8 B of data from
// model_data.c), .data (8 B run at 0x20000000, loaded at 0x10, from a.c), .bss (32 B, no
// mapping symbol), a symbol table and its string tables, two PT_LOAD segments.
std::string tiny_firmware(size_t* shoff_out = nullptr) {
  const std::string strtab = std::string("\0a.c\0$t\0$d\0model_data.c\0weights\0main\0", 38);
  // Offsets in strtab: a.c 1, $t 5, $d 8, model_data.c 11, weights 24, main 32.
  const std::string shstrtab = std::string("\0.text\0.data\0.bss\0.symtab\0.strtab\0.shstrtab\0", 44);
  // Offsets: .text 1, .data 7, .bss 13, .symtab 18, .strtab 26, .shstrtab 34.
  const size_t shstr_off = kStrOff + strtab.size();
  const size_t shoff = (shstr_off + shstrtab.size() + 3) / 4 * 4;
  std::string b(shoff + 7 * 40, '\0');
  b.replace(0, 4, "\x7f" "ELF");
  b[4] = 1;  // ELFCLASS32
  b[5] = 1;  // little endian
  b[6] = 1;
  put16(b, 16, 2);    // ET_EXEC
  put16(b, 18, 40);   // EM_ARM
  put32(b, 28, kPhOff);
  put32(b, 32, static_cast<uint32_t>(shoff));
  put16(b, 40, 52);
  put16(b, 42, 32);
  put16(b, 44, 2);
  put16(b, 46, 40);
  put16(b, 48, 7);
  put16(b, 50, 6);
  // Program headers: PT_LOAD of .text, PT_LOAD of .data + .bss (run in RAM, loaded in flash).
  const uint32_t ph[2][6] = {{1, kTextOff, 0, 0, 16, 16}, {1, kDataOff, 0x20000000, 0x10, 8, 40}};
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 6; ++k) put32(b, kPhOff + 32 * i + 4 * k, ph[i][k]);
  // Symbols: name, value, size, info (bind << 4 | type), shndx.
  const uint32_t syms[kSymCount][5] = {{0, 0, 0, 0, 0},
                                       {1, 0, 0, 4, 0xfff1},          // FILE a.c
                                       {5, 0, 0, 0, 1},               // $t in .text
                                       {8, 0x20000000, 0, 0, 2},      // $d in .data
                                       {11, 0, 0, 4, 0xfff1},         // FILE model_data.c
                                       {8, 8, 0, 0, 1},               // $d in .text
                                       {24, 8, 8, 1, 1},              // weights, local object
                                       {32, 1, 8, (1 << 4) | 2, 1}};  // main, global function
  for (size_t i = 0; i < kSymCount; ++i) {
    const size_t at = kSymOff + 16 * i;
    put32(b, at, syms[i][0]);
    put32(b, at + 4, syms[i][1]);
    put32(b, at + 8, syms[i][2]);
    b[at + 12] = static_cast<char>(syms[i][3]);
    put16(b, at + 14, syms[i][4]);
  }
  b.replace(kStrOff, strtab.size(), strtab);
  b.replace(shstr_off, shstrtab.size(), shstrtab);
  // Section headers: name, type, flags, addr, offset, size, link, info, align, entsize.
  const uint32_t sh[7][10] = {
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
      {1, 1, 0x6, 0, kTextOff, 16, 0, 0, 4, 0},
      {7, 1, 0x3, 0x20000000, kDataOff, 8, 0, 0, 4, 0},
      {13, 8, 0x3, 0x20000008, kSymOff, 32, 0, 0, 4, 0},
      {18, 2, 0, 0, kSymOff, 16 * kSymCount, 5, 7, 4, 16},
      {26, 3, 0, 0, kStrOff, static_cast<uint32_t>(strtab.size()), 0, 0, 1, 0},
      {34, 3, 0, 0, static_cast<uint32_t>(shstr_off), static_cast<uint32_t>(shstrtab.size()), 0, 0, 1, 0}};
  for (int i = 0; i < 7; ++i)
    for (int k = 0; k < 10; ++k) put32(b, shoff + 40 * i + 4 * k, sh[i][k]);
  if (shoff_out) *shoff_out = shoff;
  return b;
}

TEST_CASE("ELF32: sections, segments and symbols with their source files") {
  auto elf = parse_elf32(tiny_firmware(), "tiny.elf");
  REQUIRE(elf.ok());
  const ElfImage& e = elf.value();
  REQUIRE(e.sections.size() == 7);
  CHECK(e.sections[1].name == ".text");
  CHECK(e.sections[1].allocated());
  CHECK(e.sections[3].name == ".bss");
  CHECK(e.sections[3].nobits());
  CHECK(e.sections[3].size == 32);
  REQUIRE(e.segments.size() == 2);
  CHECK(e.segments[1].paddr == 0x10);
  REQUIRE(e.symbols.size() == kSymCount);
  CHECK(e.symbols[2].name == "$t");
  CHECK(e.symbols[2].file == "a.c");
  CHECK(e.symbols[6].name == "weights");
  CHECK(e.symbols[6].file == "model_data.c");
  CHECK(e.symbols[6].size == 8);
  CHECK(e.symbols[7].name == "main");
  CHECK_FALSE(e.symbols[7].local);
  CHECK(e.symbols[7].file.empty());  // globals carry no file
}

TEST_CASE("ELF32 footprint: flash and RAM split by the mapping symbols' source files") {
  auto elf = parse_elf32(tiny_firmware(), "tiny.elf");
  REQUIRE(elf.ok());
  auto fp = measure_firmware(elf.value(), "model_data.c", {"a.c"});
  REQUIRE(fp.ok());
  const FirmwareFootprint& f = fp.value();
  CHECK(f.flash_bytes == 16 + 8);       // .text and .data's initial values
  CHECK(f.static_ram_bytes == 8 + 32);  // .data and .bss
  CHECK(f.flash_by_owner[static_cast<int>(FootprintOwner::kModelData)] == 8);
  CHECK(f.flash_by_owner[static_cast<int>(FootprintOwner::kRuntime)] == 8 + 8);
  CHECK(f.flash_by_owner[static_cast<int>(FootprintOwner::kOther)] == 0);
  CHECK(f.ram_by_owner[static_cast<int>(FootprintOwner::kRuntime)] == 8);
  CHECK(f.ram_by_owner[static_cast<int>(FootprintOwner::kOther)] == 32);  // .bss has no mapping symbol

  // Without the model's symbols the split cannot be made, and says so.
  auto none = measure_firmware(elf.value(), "other_model.c", {"a.c"});
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().message().find("no symbols from other_model.c") != std::string::npos);
}

TEST_CASE("ELF32: every truncation of the file is refused with its name, never read past the end") {
  const std::string full = tiny_firmware();
  for (size_t n = 0; n < full.size(); ++n) {
    auto elf = parse_elf32(full.substr(0, n), "cut.elf");
    REQUIRE_FALSE(elf.ok());
    CHECK(elf.status().message().find("cut.elf") != std::string::npos);
  }
}

TEST_CASE("ELF32: wrong magic, class, byte order and offsets are named") {
  auto expect_error = [](std::string bytes, const std::string& text) {
    auto elf = parse_elf32(bytes, "bad.elf");
    REQUIRE_FALSE(elf.ok());
    CHECK(elf.status().message().find("bad.elf") != std::string::npos);
    CHECK_MESSAGE(elf.status().message().find(text) != std::string::npos, elf.status().message());
  };
  size_t shoff = 0;
  const std::string good = tiny_firmware(&shoff);
  std::string b = good;
  b[1] = 'X';
  expect_error(b, "not an ELF file");
  b = good;
  b[4] = 2;
  expect_error(b, "not a 32-bit ELF");
  b = good;
  b[5] = 2;
  expect_error(b, "not a little-endian");
  b = good;
  put32(b, 32, 0xfffffff0u);  // section header table far past the end
  expect_error(b, "section header table");
  b = good;
  put32(b, shoff + 40 * 1 + 16, 0x7ffffff0u);  // .text's contents past the end
  expect_error(b, "section 1's contents");
  b = good;
  put32(b, shoff + 40 * 1, 1000);  // .text's name past the string table
  expect_error(b, "a name");
  b = good;
  put16(b, 50, 9);  // section name table index out of range
  expect_error(b, "out of range");
  b = good;
  put32(b, shoff + 40 * 4 + 24, 9);  // symbol table's string table index out of range
  expect_error(b, "out of range");
  expect_error(std::string(), "not an ELF file");
  CHECK_FALSE(read_elf32("/nonexistent/harness.elf").ok());
}

}  // namespace
}  // namespace slingshot
