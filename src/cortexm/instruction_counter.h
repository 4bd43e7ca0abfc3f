/* Instruction counter for the QEMU firmware: SysTick on the core clock, extended to 64
 * bits by its wrap interrupt. Under `qemu-system-arm -icount shift=0` every instruction
 * advances virtual time by exactly 1 ns, so ticks x (1e9 / core clock) is a
 * deterministic instruction count, with a resolution of one tick (40 instructions at the
 * MPS2 boards' 25 MHz). On real silicon the same figures are core cycles. */
#ifndef SLINGSHOT_CORTEXM_INSTRUCTION_COUNTER_H_
#define SLINGSHOT_CORTEXM_INSTRUCTION_COUNTER_H_

#include <stdint.h>

/* The board's core clock: 25 MHz on mps2-an385/an386/an500, 32 MHz on mps3-an547. */
#ifndef SLING_CORE_CLOCK_HZ
#define SLING_CORE_CLOCK_HZ 25000000u
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Starts (or restarts) the count from zero. Enables the SysTick interrupt. */
void instruction_counter_start(void);
/* Instructions executed since the last start. */
uint64_t instruction_counter_read(void);

#ifdef __cplusplus
}
#endif

#endif /* SLINGSHOT_CORTEXM_INSTRUCTION_COUNTER_H_ */
