// QEMU runs of the harness firmware and the parsing of its output (see qemu_run.h).
#include "deploy/qemu_run.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "core/file_io.h"
#include "deploy/subprocess.h"

namespace slingshot {
namespace fs = std::filesystem;
namespace {

constexpr int64_t kMaxOutputBytes = int64_t{1} << 30;

std::string le32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

Result<uint64_t> parse_count(const std::string& s) {
  if (s.empty() || s.size() > 20 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return data_loss("'" + s + "' is not an instruction count");
  return std::stoull(s);
}

// Parses one shard's stdout: the banner, `expected` result lines and "done".
Result<std::vector<HarnessResult>> parse_output(const std::string& text, size_t expected, uint32_t output_bytes,
                                                uint32_t layer_count) {
  std::istringstream lines(text);
  std::string line;
  std::vector<HarnessResult> results;
  bool banner = false, done = false;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("SLINGSHOT-HARNESS 1 ", 0) == 0) {
      banner = true;
      if (line.find(" layers=" + std::to_string(layer_count) + " ") == std::string::npos)
        return data_loss("the firmware reports another layer count: " + line);
      continue;
    }
    if (line.rfind("done ", 0) == 0) {
      done = true;
      continue;
    }
    if (line.rfind("result ", 0) != 0) continue;
    std::istringstream fields(line.substr(7));
    std::string index, codes, total, layers, stack;
    fields >> index >> codes >> total >> layers >> stack;
    if (index != std::to_string(results.size())) return data_loss("harness result out of order: " + line);
    if (codes.size() != 2 * static_cast<size_t>(output_bytes))
      return data_loss("harness result " + index + " has " + std::to_string(codes.size() / 2) +
                       " output bytes, the model " + std::to_string(output_bytes));
    HarnessResult r;
    for (size_t i = 0; i < codes.size(); i += 2) {
      const int hi = hex_digit(codes[i]), lo = hex_digit(codes[i + 1]);
      if (hi < 0 || lo < 0) return data_loss("harness result " + index + " has a non-hex output code");
      r.output_codes.push_back(static_cast<int8_t>(static_cast<uint8_t>(hi * 16 + lo)));
    }
    if (total.rfind("total=", 0) != 0 || layers.rfind("layers=", 0) != 0 || stack.rfind("stack=", 0) != 0)
      return data_loss("malformed harness result line: " + line);
    SLING_ASSIGN_OR_RETURN(r.instructions, parse_count(total.substr(6)));
    SLING_ASSIGN_OR_RETURN(r.stack_bytes, parse_count(stack.substr(6)));
    std::istringstream counts(layers.substr(7));
    for (std::string c; std::getline(counts, c, ',');) {
      SLING_ASSIGN_OR_RETURN(uint64_t n, parse_count(c));
      r.layer_instructions.push_back(n);
    }
    if (r.layer_instructions.size() != layer_count)
      return data_loss("harness result " + index + " has " + std::to_string(r.layer_instructions.size()) +
                       " layer counts, the model " + std::to_string(layer_count) + " layers");
    results.push_back(std::move(r));
  }
  if (!banner) return data_loss("the firmware printed no SLINGSHOT-HARNESS banner");
  if (!done || results.size() != expected)
    return data_loss("the firmware returned " + std::to_string(results.size()) + " of " + std::to_string(expected) +
                     " results");
  return results;
}

std::string last_lines(const std::string& text) {
  return text.size() > 2000 ? "..." + text.substr(text.size() - 2000) : text;
}

}  // namespace

std::string harness_exit_meaning(int status) {
  switch (status) {
    case 2: return "inputs.bin missing";
    case 3: return "inputs.bin has a bad header";
    case 4: return "input size differs from the model's";
    case 5: return "inputs.bin is truncated";
    case 6: return "the runtime refused the model";
    case 7: return "the inference used the whole painted stack window";
    case 101: return "the core faulted";
    case 102: return "unexpected exception";
    default: return "unexpected exit status";
  }
}

Result<std::vector<HarnessResult>> run_harness(const FirmwareTarget& target, const std::string& elf_path,
                                               const std::vector<std::vector<int8_t>>& inputs, uint32_t input_bytes,
                                               uint32_t output_bytes, uint32_t layer_count,
                                               const HarnessRunOptions& options) {
  for (const auto& in : inputs)
    if (in.size() != input_bytes) return invalid_argument("an input tensor does not have the model's input size");
  const size_t shards = std::max<size_t>(1, std::min<size_t>(std::max(options.processes, 1), inputs.size()));
  struct Shard {
    std::string dir;
    size_t begin = 0, end = 0;
    RunningProcess process;
    bool started = false;
  };
  std::vector<Shard> all(shards);
  Status error;
  for (size_t s = 0; s < shards && error.ok(); ++s) {
    Shard& sh = all[s];
    sh.begin = inputs.size() * s / shards;
    sh.end = inputs.size() * (s + 1) / shards;
    std::string pattern = (fs::temp_directory_path() / "slingshot-qemu-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) {
      error = io_error("cannot create a temporary directory for QEMU");
      break;
    }
    sh.dir = pattern;
    std::string file = "SLIN" + le32(1) + le32(static_cast<uint32_t>(sh.end - sh.begin)) + le32(input_bytes);
    for (size_t i = sh.begin; i < sh.end; ++i) file.append(reinterpret_cast<const char*>(inputs[i].data()), input_bytes);
    error = write_file_atomic(sh.dir + "/inputs.bin", file);
    if (!error.ok()) break;
    // -icount shift=0: one instruction per virtual ns, so SysTick counts instructions.
    auto p = start_process({{"qemu-system-arm", "-M", target.board, "-nographic", "-monitor", "none", "-serial", "none",
                             "-semihosting-config", "enable=on,target=native", "-icount", "shift=0", "-kernel",
                             fs::absolute(elf_path).string()},
                            sh.dir,
                            sh.dir + "/stdout.txt",
                            sh.dir + "/stderr.txt"});
    if (!p.ok()) {
      error = p.status();
      break;
    }
    sh.process = p.value();
    sh.started = true;
  }
  std::vector<HarnessResult> results;
  for (Shard& sh : all) {
    std::error_code ec;
    if (!sh.started) {
      if (!sh.dir.empty()) fs::remove_all(sh.dir, ec);
      continue;
    }
    const ProcessResult r = wait_process(sh.process, options.timeout_seconds);
    auto out = read_file(sh.dir + "/stdout.txt", kMaxOutputBytes);
    auto err = read_file(sh.dir + "/stderr.txt", kMaxOutputBytes);
    const std::string text = out.ok() ? out.value() : "";
    if (error.ok()) {
      if (r.timed_out) {
        error = internal_error("QEMU (" + target.board + ") did not finish within " +
                               std::to_string(static_cast<int>(options.timeout_seconds)) + " s. Output:\n" +
                               last_lines(text));
      } else if (r.exit_status != 0) {
        error = internal_error("the firmware on " + target.board + " exited with status " +
                               std::to_string(r.exit_status) + " (" + harness_exit_meaning(r.exit_status) +
                               "). Output:\n" + last_lines(text) + (err.ok() ? last_lines(err.value()) : ""));
      } else {
        auto parsed = parse_output(text, sh.end - sh.begin, output_bytes, layer_count);
        if (!parsed.ok())
          error = parsed.status();
        else
          for (auto& x : parsed.value()) results.push_back(std::move(x));
      }
    }
    fs::remove_all(sh.dir, ec);
  }
  if (!error.ok()) return error;
  return results;
}

}  // namespace slingshot
