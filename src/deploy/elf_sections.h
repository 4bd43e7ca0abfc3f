// A small reader for 32-bit little-endian ELF files (the Cortex-M firmware): section
// headers, program headers and the symbol table, with each local symbol's source file
// (the STT_FILE symbol that precedes it). `slingshot footprint` measures flash and static
// RAM with it. Every malformed or truncated file gets an error naming the file and what is
// wrong; nothing is read out of bounds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace slingshot {

struct ElfSection {
  std::string name;
  uint32_t type = 0;   // SHT_*
  uint32_t flags = 0;  // SHF_*
  uint32_t addr = 0;
  uint32_t size = 0;
  bool allocated() const { return flags & 0x2; }  // SHF_ALLOC: part of the memory image
  bool nobits() const { return type == 8; }       // SHT_NOBITS: .bss, no bytes in the file
};

struct ElfSegment {
  uint32_t type = 0;  // PT_*
  uint32_t vaddr = 0, paddr = 0, filesz = 0, memsz = 0;
};

struct ElfSymbol {
  std::string name;
  std::string file;  // for a local symbol, the STT_FILE before it; empty for globals
  uint32_t value = 0, size = 0;
  uint8_t type = 0;        // STT_*
  bool local = false;      // STB_LOCAL
  uint16_t section = 0;    // st_shndx
};

struct ElfImage {
  std::vector<ElfSection> sections;
  std::vector<ElfSegment> segments;
  std::vector<ElfSymbol> symbols;
};

// Parses `bytes`, an ELF32 little-endian file; `name` is used in errors.
Result<ElfImage> parse_elf32(const std::string& bytes, const std::string& name);
Result<ElfImage> read_elf32(const std::string& path);

}  // namespace slingshot
