// A one-line terminal progress bar on stderr. On a non-terminal (CI, pipes) it prints
// nothing per step, so logs stay readable; callers print their own summary lines.
#pragma once

#include <string>

namespace slingshot::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();
  // fraction in [0, 1]; `detail` is shown after the bar, e.g. "loss 0.42".
  void update(double fraction, const std::string& detail);
  // Clears the bar line.
  void finish();

 private:
  std::string label_;
  bool tty_;
  bool drawn_ = false;
  int last_permille_ = -1;
};

}  // namespace slingshot::cli
