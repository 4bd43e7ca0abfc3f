// The harness firmware of `slingshot mcu-run`: reads N int8 input tensors over
// semihosting, runs the exported model (model_data.c) on each with the device runtime,
// and prints the output codes and per-layer instruction counts on stdout. Protocol
// (docs/cortex-m.md):
//   input file "inputs.bin" in QEMU's working directory: "SLIN", then little-endian
//   uint32 version (1), count N, input bytes per tensor; then N tensors of int8 codes.
//   stdout: "SLINGSHOT-HARNESS 1 layers=L input_bytes=I output_bytes=O arena_bytes=A",
//   then per input "result K <output codes, 2 hex digits each> total=T layers=c0,c1,...
//   stack=S", then "done N". Counts are instructions (SysTick under -icount shift=0,
//   40-instruction resolution); a layer's count includes one counter read. S is the stack
//   high-water mark of that inference in bytes below the top of the stack (_estack), from
//   a painted stack: see paint_stack().
//   exit status: 0 ok; 2 inputs.bin missing; 3 bad header; 4 input size differs from the
//   model's; 5 file shorter than its header says; 6 the runtime refused the model; 7 the
//   inference used the whole painted stack window; 101 fault, 102 unexpected exception
//   (startup.c).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cortexm/instruction_counter.h"
#include "cortexm/runtime/model_runtime.h"
#include "model_data.h"

extern "C" uint32_t _estack;  // the linker script's top of the (full descending) stack

namespace {

constexpr uint32_t kProtocolVersion = 1;

alignas(16) int8_t arena[SLING_MODEL_ARENA_BYTES];
uint64_t layer_start[SLING_MODEL_LAYER_COUNT];
uint64_t layer_instructions[SLING_MODEL_LAYER_COUNT];

void count_layer(void*, uint32_t layer, int after) {
  const uint64_t now = instruction_counter_read();
  if (after)
    layer_instructions[layer] = now - layer_start[layer];
  else
    layer_start[layer] = now;
}

// Stack high-water mark: before each inference the words below the current stack pointer
// are filled with a pattern; after it, the lowest word no longer holding the pattern is the
// deepest the stack reached (the runtime, the kernels, the hook and the SysTick interrupt's
// frames). Painting per inference keeps the harness's own semihosting I/O out of the
// figure. The window is far below anything the heap reaches (the harness's heap holds a
// few stdio buffers; RAM is 2-4 MB).
constexpr uint32_t kStackPaint = 0xC0DEFEEDu;
constexpr uint32_t kStackWindowWords = 16 * 1024;  // 64 KB
volatile uint32_t* stack_window_bottom = nullptr;

__attribute__((noinline)) void paint_stack() {
  uint32_t* sp;
  __asm volatile("mov %0, sp" : "=r"(sp));
  // Nothing below the stack pointer is live: the M profile has no red zone, and this
  // function's own frame lies above it.
  stack_window_bottom = sp - kStackWindowWords;
  for (volatile uint32_t* p = stack_window_bottom; p < sp; ++p) *p = kStackPaint;
}

uint32_t stack_high_water_bytes() {
  volatile uint32_t* p = stack_window_bottom;
  while (*p == kStackPaint) ++p;
  return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(&_estack) - reinterpret_cast<uintptr_t>(p));
}

uint32_t read_u32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

[[noreturn]] void fail(int status, const char* message) {
  std::printf("error %d: %s\n", status, message);
  std::fflush(stdout);
  std::exit(status);
}

void print_result(uint32_t index, uint64_t total, uint32_t stack_bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::printf("result %lu ", static_cast<unsigned long>(index));
  const int8_t* out = arena + slingshot_model.output_offset;
  for (uint32_t i = 0; i < slingshot_model.output_bytes; ++i) {
    const uint8_t b = static_cast<uint8_t>(out[i]);
    std::putchar(kHex[b >> 4]);
    std::putchar(kHex[b & 15]);
  }
  std::printf(" total=%llu layers=", static_cast<unsigned long long>(total));
  for (uint32_t i = 0; i < SLING_MODEL_LAYER_COUNT; ++i)
    std::printf(i ? ",%llu" : "%llu", static_cast<unsigned long long>(layer_instructions[i]));
  std::printf(" stack=%lu\n", static_cast<unsigned long>(stack_bytes));
}

}  // namespace

int main() {
  std::FILE* in = std::fopen("inputs.bin", "rb");
  if (!in) fail(2, "cannot open inputs.bin in the working directory");
  unsigned char header[16];
  if (std::fread(header, 1, sizeof header, in) != sizeof header || std::memcmp(header, "SLIN", 4) != 0 ||
      read_u32(header + 4) != kProtocolVersion)
    fail(3, "inputs.bin does not start with the SLIN version 1 header");
  const uint32_t count = read_u32(header + 8);
  if (read_u32(header + 12) != SLING_MODEL_INPUT_BYTES) fail(4, "input tensor size differs from the model's");

  const sling_status check = sling_model_check(&slingshot_model, sizeof arena);
  if (check != SLING_OK) fail(6, sling_status_message(check));
  std::printf("SLINGSHOT-HARNESS %lu layers=%lu input_bytes=%lu output_bytes=%lu arena_bytes=%lu\n",
              static_cast<unsigned long>(kProtocolVersion), static_cast<unsigned long>(SLING_MODEL_LAYER_COUNT),
              static_cast<unsigned long>(SLING_MODEL_INPUT_BYTES), static_cast<unsigned long>(SLING_MODEL_OUTPUT_BYTES),
              static_cast<unsigned long>(SLING_MODEL_ARENA_BYTES));
  for (uint32_t k = 0; k < count; ++k) {
    int8_t* input = arena + slingshot_model.input_offset;
    if (std::fread(input, 1, SLING_MODEL_INPUT_BYTES, in) != SLING_MODEL_INPUT_BYTES)
      fail(5, "inputs.bin ends before its last tensor");
    paint_stack();
    instruction_counter_start();
    const uint64_t start = instruction_counter_read();
    const sling_status s = sling_model_run(&slingshot_model, arena, sizeof arena, count_layer, nullptr);
    const uint64_t total = instruction_counter_read() - start;
    if (s != SLING_OK) fail(6, sling_status_message(s));
    if (*stack_window_bottom != kStackPaint) fail(7, "the inference used the whole painted stack window (64 KB)");
    print_result(k, total, stack_high_water_bytes());
  }
  std::fclose(in);
  std::printf("done %lu\n", static_cast<unsigned long>(count));
  std::fflush(stdout);
  return 0;
}
