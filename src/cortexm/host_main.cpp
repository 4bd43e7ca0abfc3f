// portable_checksum_host: prints the native result of the shared checksum workload in
// the same format as the firmware, for tests/cortexm/run_checksum.sh.
#include <cstdio>

#include "cortexm/checksum_workload.h"

int main() {
  std::printf("checksum: %08lx\n", static_cast<unsigned long>(slingshot::portable_checksum()));
  return 0;
}
