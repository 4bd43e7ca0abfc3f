// Progress bar drawing.
#include "cli/progress.h"

#include <cstdio>

#include <unistd.h>

namespace slingshot::cli {

ProgressBar::ProgressBar(std::string label) : label_(std::move(label)), tty_(isatty(fileno(stderr)) == 1) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(double fraction, const std::string& detail) {
  if (!tty_) return;
  const int permille = static_cast<int>(fraction * 1000);
  if (permille == last_permille_) return;
  last_permille_ = permille;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(fraction * kWidth);
  std::string bar(filled, '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "\r%s [%s] %5.1f%% %s\033[K", label_.c_str(), bar.c_str(), fraction * 100, detail.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace slingshot::cli
